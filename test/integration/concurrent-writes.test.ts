import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { MAIN_ARGS, ROOT } from '../helpers/process.js';
import { createOrgs, samlConnection, samlLogin } from '../helpers/sso-setup.js';
import { scimClient } from '../helpers/scim-client.js';
import { WebhookWorker } from '../../src/modules/webhooks/worker.js';
import { deleteEventsBefore } from '../../src/modules/events/queries.js';
import { deleteFinishedDeliveriesBefore } from '../../src/modules/webhooks/delivery-queries.js';

/**
 * Writes at once through every way they arrive, on the test database (a SQLite file by default, as
 * `npm start` uses): three SCIM clients creating users, three API clients renaming their own
 * organization, SAML sign-ins, webhook delivery, event retention's deletes, and a second process
 * writing the same database (as the CLI does), while the SQLite checkpoint worker starts the WAL over
 * under them. Every write must succeed and land. The same mix for 60 s and more, with the server
 * and the load in processes of their own, is `npm run bench mixed-load`.
 */
const LOAD_MS = 4000;
let t: TestApp;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await t?.close();
});

/** Starts the writer process; resolves once it is writing, with a promise of its report. */
function startWriter(url: string): Promise<{ done: Promise<{ written: string[]; errors: string[] }> }> {
  const child = spawn(process.execPath, [MAIN_ARGS[0]!, MAIN_ARGS[1]!, join(ROOT, 'test/helpers/writer-process.ts')], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, WRITER_MS: String(LOAD_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const done = new Promise<{ written: string[]; errors: string[] }>((res, rej) =>
      child.on('close', (code) => (code === 0 ? res(JSON.parse(out.split('\n').filter(Boolean).at(-1)!)) : rej(new Error(`writer exited ${code}: ${err}`)))),
    );
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve({ done });
    });
    child.on('error', reject);
    done.catch(reject);
  });
}

it('SCIM creates, organization PATCHes, sign-ins, webhooks, retention and another process writing the same database all succeed, and every write lands', async () => {
  t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
  await createOrgs(t, 'acme');
  const conn = await samlConnection(t, { membership_rules: [{ organization: 'acme', role: 'member' }] });
  cleanups.push(() => conn.idp.stop());
  const scim = scimClient((await t.api('POST', '/api/v1/directories', { body: { connection_id: conn.id, name: 'acme' } })).body);
  const orgs = await Promise.all([0, 1, 2].map(async (i) => (await t.api('POST', '/api/v1/organizations', { body: { name: `patched-${i}` } })).body as { id: string }));
  const received = new Set<string>();
  const receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(200).end(void received.add(String(req.headers['orgsync-delivery-id'])))));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => receiver.close(r)));
  const hook = (await t.api('POST', '/api/v1/webhooks', { body: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ['user.provisioned', 'membership.added'] } })).body as { id: string };
  const worker = new WebhookWorker(t.container, { pollIntervalMs: 100 });
  worker.start();
  cleanups.push(() => worker.stop());
  const writer = await startWriter(t.database.url);

  const until = Date.now() + LOAD_MS;
  const failures: string[] = [];
  const created: string[] = [];
  const renamed = [0, 0, 0];
  let signedIn = 0;
  await Promise.all([
    ...[0, 1, 2].map(async (client) => {
      for (let i = 0; Date.now() < until; i++) {
        const userName = `u${client}-${i}@acme.com`;
        const r = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, emails: [{ value: userName, primary: true }] });
        if (r.status === 201) created.push(userName);
        else failures.push(`POST /Users ${r.status} ${JSON.stringify(r.body)}`);
      }
    }),
    (async () => {
      for (let i = 0; Date.now() < until; i++) {
        const email = `signin${i}@acme.com`;
        const r = await samlLogin(t, conn, { nameId: email, email, groups: [] });
        if (r.meStatus === 200) signedIn++;
        else failures.push(`sign-in ${r.page.status} ${r.meStatus}`);
      }
    })(),
    (async () => {
      // Event retention's own deletes, with a window of one second instead of days.
      while (Date.now() < until) {
        const before = new Date(Date.now() - 1000).toISOString();
        await deleteEventsBefore(t.container.db, before, 5000);
        await deleteFinishedDeliveriesBefore(t.container.db, before, 5000);
        await new Promise((r) => setTimeout(r, 300));
      }
    })(),
    ...orgs.map(async (org, client) => {
      for (let i = 1; Date.now() < until; i++) {
        const r = await t.api('PATCH', `/api/v1/organizations/${org.id}`, { body: { display_name: `rename ${i}` } });
        if (r.status === 200) renamed[client] = i;
        else failures.push(`PATCH organization ${r.status} ${r.text}`);
      }
    }),
  ]);
  const report = await (await writer).done;
  // The worker delivers what is queued; retention may have removed delivered rows meanwhile.
  // A bound on the wait only (it ends as soon as the queue is empty): a loaded two-core machine
  // running the whole suite on PostgreSQL needed more than 20 s to drain it once.
  // The worker fans events out to deliveries on its polls, so an empty queue counts only once it has
  // stayed empty across several polls (100 ms each).
  for (let waited = 0, empty = 0; waited < 90_000 && empty < 5; waited += 100) {
    const pending = await t.api('GET', `/api/v1/webhooks/${hook.id}/deliveries?status=pending&take=1`);
    empty = pending.body.deliveries.length === 0 ? empty + 1 : 0;
    await new Promise((r) => setTimeout(r, 100));
  }

  expect(failures).toEqual([]);
  expect(report.errors).toEqual([]);
  expect(created.length).toBeGreaterThan(0);
  expect(report.written.length).toBeGreaterThan(0);
  // Nothing acknowledged is missing: every user, every rename (with its audit event), every organization of the other process.
  const db = t.container.db;
  expect(Number((await db('scim_users').count<Array<{ n: number | string }>>({ n: '*' }))[0]!.n)).toBe(created.length);
  for (const [client, org] of orgs.entries()) {
    expect((await db('organizations').where({ id: org.id }).first<{ display_name: string }>('display_name'))!.display_name).toBe(`rename ${renamed[client]}`);
    const audited = await db('audit_events').where({ organization_id: org.id, action: 'organization.updated' }).count<Array<{ n: number | string }>>({ n: '*' });
    expect(Number(audited[0]!.n)).toBe(renamed[client]);
  }
  expect(Number((await db('sync_runs').where({ trigger: 'login' }).count<Array<{ n: number | string }>>({ n: '*' }))[0]!.n)).toBe(signedIn);
  const delivered = await db('webhook_deliveries').where({ webhook_id: hook.id }).select<Array<{ id: string; status: string }>>('id', 'status');
  expect(delivered.filter((d) => d.status !== 'delivered')).toEqual([]);
  for (const d of delivered) expect(received.has(d.id)).toBe(true);
  const theirs = await db('organizations').whereIn('name', report.written).where('display_name', 'like', '% renamed').count<Array<{ n: number | string }>>({ n: '*' });
  expect(Number(theirs[0]!.n)).toBe(report.written.length);
});
