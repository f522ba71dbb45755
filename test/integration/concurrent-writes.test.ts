import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory } from '../helpers/scim-builders.js';
import { MAIN_ARGS, ROOT } from '../helpers/process.js';

/**
 * Writes at once through every way they arrive, on the test database (a SQLite file by default, as
 * `npm start` uses): three SCIM clients creating users, three API clients renaming their own
 * organization, and a second process writing the same database (as the CLI does), while the SQLite
 * checkpoint worker starts the WAL over under them. Every write must succeed and land. The full mix
 * for 60 s and more is `npm run bench mixed-load`.
 */
const LOAD_MS = 4000;
let t: TestApp;
afterEach(async () => t?.close());

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

it('SCIM creates, organization PATCHes and another process writing the same database all succeed, and every write lands', async () => {
  t = await startTestApp();
  const s = await createScimDirectory(t, { domains: ['acme.test'] });
  const orgs = await Promise.all([0, 1, 2].map(async (i) => (await t.api('POST', '/api/v1/organizations', { body: { name: `patched-${i}` } })).body as { id: string }));
  const writer = await startWriter(t.database.url);

  const until = Date.now() + LOAD_MS;
  const failures: string[] = [];
  const created: string[] = [];
  const renamed = [0, 0, 0];
  await Promise.all([
    ...[0, 1, 2].map(async (client) => {
      for (let i = 0; Date.now() < until; i++) {
        const userName = `u${client}-${i}@acme.test`;
        const r = await s.req('POST', '/Users', { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, emails: [{ value: userName, primary: true }] } });
        if (r.status === 201) created.push(userName);
        else failures.push(`POST /Users ${r.status} ${r.text}`);
      }
    }),
    ...orgs.map(async (org, client) => {
      for (let i = 1; Date.now() < until; i++) {
        const r = await t.api('PATCH', `/api/v1/organizations/${org.id}`, { body: { display_name: `rename ${i}` } });
        if (r.status === 200) renamed[client] = i;
        else failures.push(`PATCH organization ${r.status} ${r.text}`);
      }
    }),
  ]);
  const report = await (await writer).done;

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
  const theirs = await db('organizations').whereIn('name', report.written).where('display_name', 'like', '% renamed').count<Array<{ n: number | string }>>({ n: '*' });
  expect(Number(theirs[0]!.n)).toBe(report.written.length);
});
