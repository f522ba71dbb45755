/**
 * The load generator of `npm run bench mixed-load`, in a process of its own (started by
 * bench/mixed-load.bench.ts): for MIXED_SECONDS it sends SCIM creates and PATCHes, management API
 * writes and SAML sign-ins to the server, receives its webhook deliveries, runs event retention's
 * deletes against the same database, and runs the `orgsync` CLI, all at once. It then waits for the
 * webhook queue to drain and prints one JSON line: per kind of operation, the count, errors, the
 * first failures and latencies, and what each acknowledged write should have left in the database.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createDb } from '../../src/platform/db.js';
import { deleteEventsBefore } from '../../src/modules/events/queries.js';
import { deleteFinishedDeliveriesBefore } from '../../src/modules/webhooks/delivery-queries.js';
import { crossInstanceLogin, scimOn } from '../../test/helpers/multi-instance.js';
import { SamlTestIdp } from '../../test/helpers/saml-idp.js';
import { apiClient } from '../../test/helpers/app.js';

export interface MixedPlan {
  url: string;
  key: string;
  databaseUrl: string;
  seconds: number;
  root: string;
}

export interface KindReport {
  ok: number;
  errors: number;
  failures: string[];
  p50: number;
  p99: number;
}

export interface MixedReport {
  directoryId: string;
  kinds: Record<string, KindReport>;
  /** What the acknowledged writes must have left behind. */
  expected: {
    scimUsers: string[];
    titles: Record<string, string>;
    organizationNames: Record<string, string>;
    renames: Record<string, number>;
    cliOrganizations: string[];
    logins: number;
    deliveriesReceived: number;
    eventsPruned: number;
  };
}

const plan = JSON.parse(process.env.MIXED_PLAN!) as MixedPlan;
const until = Date.now() + plan.seconds * 1000;
const lat = new Map<string, number[]>();
const counts = new Map<string, { ok: number; errors: number; failures: string[] }>();

/** Times one operation; `op` answers true when it succeeded, or a description of what went wrong. */
async function record(kind: string, op: () => Promise<true | string>): Promise<boolean> {
  const c = counts.get(kind) ?? { ok: 0, errors: 0, failures: [] };
  counts.set(kind, c);
  const t0 = performance.now();
  let outcome: true | string;
  try {
    outcome = await op();
  } catch (err) {
    outcome = `threw ${(err as Error).message}`;
  }
  (lat.get(kind) ?? lat.set(kind, []).get(kind)!).push(performance.now() - t0);
  if (outcome === true) c.ok++;
  else {
    c.errors++;
    if (c.failures.length < 5) c.failures.push(outcome);
  }
  return outcome === true;
}

const loop = async (body: (i: number) => Promise<unknown>) => {
  for (let i = 0; Date.now() < until; i++) await body(i);
};

const api = apiClient(plan.url, plan.key);
const must = async (method: string, path: string, body: unknown, status = 201) => {
  const r = await api(method, path, { body });
  if (r.status !== status) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.body as { id: string; token: string };
};
const scimUsers: string[] = [];
const userIds: string[] = [];
const titles: Record<string, string> = {};
const organizationNames: Record<string, string> = {};
const renames: Record<string, number> = {};
const cliOrganizations: string[] = [];
let logins = 0;
let eventsPruned = 0;

// Webhook receiver: every delivery is answered 200 and counted once by its delivery id.
const received = new Set<string>();
const receiver: Server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received.add(String(req.headers['orgsync-delivery-id']));
    res.writeHead(200).end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
const hook = await api('POST', '/api/v1/webhooks', {
  body: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, events: ['membership.added', 'membership.role_changed', 'membership.flagged', 'membership.restored', 'membership.removed', 'user.provisioned', 'user.updated', 'user.deactivated', 'user.reactivated', 'user.deleted'] },
});
if (hook.status !== 201) throw new Error(`webhook: ${hook.status} ${hook.text}`);

// Setup through the public API, as an admin would: a SAML connection whose rules grant two
// organizations (one by group), its SCIM directory, and three organizations the API clients rename.
const idp = new SamlTestIdp();
await idp.start();
for (const name of ['acme', 'acme-eng']) await must('POST', '/api/v1/organizations', { name });
const organizationIds = await Promise.all([0, 1, 2].map(async (i) => (await must('POST', '/api/v1/organizations', { name: `renamed-${i}` })).id));
const connection = await must('POST', '/api/v1/connections', {
  name: 'mixed', type: 'saml', domains: ['acme.com'], idp: { metadata_xml: idp.metadataXml() }, membership_sync: 'scim_and_login',
  membership_rules: [{ organization: 'acme', role: 'member' }, { organization: 'acme-eng', role: 'member', groups: ['Engineering'] }],
});
idp.spMetadata = await (await fetch(`${plan.url}/sso/saml/${connection.id}/metadata`)).text();
const directory = await must('POST', '/api/v1/directories', { connection_id: connection.id, name: 'mixed' });
const scim = scimOn(plan.url, directory.id, directory.token);
const retentionDb = createDb(plan.databaseUrl);

const scimCreate = (client: number) =>
  loop((i) =>
    record('SCIM create', async () => {
      const userName = `mixed${client}-${i}@acme.com`;
      const r = await scim('POST', '/Users', { userName, name: { givenName: 'Mixed', familyName: String(i) }, emails: [{ value: userName, primary: true }], active: true });
      if (r.status !== 201) return `${r.status} ${r.text.slice(0, 200)}`;
      scimUsers.push(userName);
      userIds.push(r.body.id as string);
      return true;
    }),
  );

const scimPatch = () =>
  loop(async (i) => {
    const id = userIds[i % Math.max(1, userIds.length)];
    if (!id) return new Promise((r) => setTimeout(r, 50));
    const title = `title ${i}`;
    return record('SCIM PATCH user', async () => {
      const r = await scim('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: title }] });
      if (r.status !== 200) return `${r.status} ${r.text.slice(0, 200)}`;
      titles[id] = title;
      return true;
    });
  });

const apiRename = (orgId: string) =>
  loop((i) =>
    record('API PATCH organization', async () => {
      const display = `renamed ${i}`;
      const r = await api('PATCH', `/api/v1/organizations/${orgId}`, { body: { display_name: display } });
      if (r.status !== 200) return `${r.status} ${r.text.slice(0, 200)}`;
      organizationNames[orgId] = display;
      renames[orgId] = (renames[orgId] ?? 0) + 1;
      return true;
    }),
  );

const samlLogin = () =>
  loop((i) =>
    record('SAML sign-in with login sync', async () => {
      const email = `signin${i % 50}@acme.com`;
      const r = await crossInstanceLogin(plan.url, plan.url, connection.id, idp, { nameId: email, email, groups: i % 2 ? ['Engineering'] : [] });
      if (r.status !== 303) return `${r.status} ${r.location ?? ''}`;
      logins++;
      return true;
    }),
  );

const cliWrites = () =>
  loop((i) =>
    record('CLI org create (process)', async () => {
      const name = `mixed-cli-${process.pid}-${i}`;
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [join(plan.root, 'bin/orgsync.js'), 'org', 'create', name, '--json'], { env: { ...process.env, DATABASE_URL: plan.databaseUrl, LOG_LEVEL: 'warn' }, stdio: 'pipe' });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', (code) => resolve({ code, out }));
      });
      if (r.code !== 0) return `exit ${r.code}: ${r.out.slice(0, 200)}`;
      cliOrganizations.push(name);
      return true;
    }),
  );

/** Event retention's own delete statements, every second, with a 30-second window. */
const retention = () =>
  loop(async () => {
    await record('event retention (deletes)', async () => {
      const before = new Date(Date.now() - 30_000).toISOString();
      eventsPruned += await deleteEventsBefore(retentionDb, before, 5000);
      await deleteFinishedDeliveriesBefore(retentionDb, before, 5000);
      return true;
    });
    await new Promise((r) => setTimeout(r, 1000));
  });

await Promise.all([scimCreate(0), scimCreate(1), scimPatch(), ...organizationIds.map(apiRename), samlLogin(), cliWrites(), retention()]);

// Let the server's webhook worker deliver what the load queued.
const drainUntil = Date.now() + 120_000;
for (;;) {
  const pending = await api('GET', `/api/v1/webhooks/${hook.body.id}/deliveries?status=pending&take=1`);
  if (pending.status === 200 && pending.body.deliveries.length === 0) break;
  if (Date.now() > drainUntil) {
    record('webhook delivery', async () => 'the queue did not drain within 120 s');
    break;
  }
  await new Promise((r) => setTimeout(r, 500));
}
const failed = await api('GET', `/api/v1/webhooks/${hook.body.id}/deliveries?status=failed&take=10`);
await record('webhook delivery', async () => (failed.status === 200 && failed.body.deliveries.length === 0 ? true : `failed deliveries: ${failed.text.slice(0, 200)}`));
counts.get('webhook delivery')!.ok = received.size;

await retentionDb.destroy();
await idp.stop();
receiver.close();

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;
const report: MixedReport = {
  directoryId: directory.id,
  kinds: Object.fromEntries([...counts].map(([k, c]) => [k, { ...c, p50: pct(lat.get(k) ?? [], 0.5), p99: pct(lat.get(k) ?? [], 0.99) }])),
  expected: { scimUsers, titles, organizationNames, renames, cliOrganizations, logins, deliveriesReceived: received.size, eventsPruned },
};
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
