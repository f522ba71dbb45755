import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import knexFactory, { type Knex } from 'knex';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../helpers/db.js';
import { freePort, runCli, tempDir } from '../helpers/process.js';
import { crossInstanceLogin, scimOn, startInstance, type Instance } from '../helpers/multi-instance.js';
import { createOrgs, samlConnection } from '../helpers/sso-setup.js';

const KEY = 'faults-bootstrap-key-0123456789abcdef';
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/**
 * SIGKILL in the middle of a transaction, hit deterministically: the test holds a lock on a table
 * the transaction writes last, waits until the server's own connection is blocked on it (so the
 * earlier writes of the same transaction are done but not committed), then kills the process.
 */
async function killMidTransaction(db: Knex, server: Instance, lock: string, waitingOn: RegExp, send: () => Promise<unknown>): Promise<void> {
  const trx = await db.transaction();
  try {
    await trx.raw(lock);
    const inFlight = send().catch((err: Error) => err);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const rows = (await db.raw(`SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).rows as Array<{ query: string }>;
      if (rows.some((r) => waitingOn.test(r.query))) break;
      if (Date.now() > deadline) throw new Error(`the request never blocked on ${waitingOn}: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await server.stop('SIGKILL');
    expect(await inFlight).toBeInstanceOf(Error); // the client never got an answer
  } finally {
    await trx.rollback();
  }
}

const count = async (q: Knex.QueryBuilder) => Number(((await q.count({ n: '*' })) as Array<{ n: string | number }>)[0]!.n);

describe.skipIf(!TEST_DATABASE_URL)('SIGKILL in the middle of a write: all of the change or none of it', { timeout: 240_000 }, () => {
  let d: TestDatabase;
  let db: Knex;
  let env: Record<string, string>;
  let port: number;

  const start = async () => {
    const s = await startInstance(env, KEY, port);
    cleanups.push(() => s.stop('SIGKILL'));
    return s;
  };

  it('SCIM group PATCH adding 1,000 members, a login sync into 100 organizations, and a 1,000-member removal', async () => {
    d = await createTestDatabase('postgres');
    cleanups.push(() => d.cleanup());
    db = knexFactory({ client: 'pg', connection: d.url, pool: { min: 0, max: 3 } });
    cleanups.push(() => db.destroy());
    port = await freePort();
    env = { DATABASE_URL: d.url, ORGSYNC_SECRET: 'faults-secret-0123456789abcdef', ORGSYNC_BOOTSTRAP_API_KEY: KEY, PUBLIC_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'warn' };
    let s = await start();

    const names = Array.from({ length: 100 }, (_, i) => `org-${i}`);
    const orgs = await createOrgs(s, ...names, 'manual');
    const conn = await samlConnection(s, { membership_sync: 'scim_and_login', membership_rules: names.map((organization) => ({ organization, role: 'member' })) });
    cleanups.push(() => conn.idp.stop());
    const dir = await s.api('POST', '/api/v1/directories', { body: { connection_id: conn.id, name: 'acme' } });
    const scim = () => scimOn(s.url, dir.body.id, dir.body.token);

    // 1,000 directory users (seeded in SQL: only the PATCH below is under test).
    const now = new Date().toISOString();
    const scimUsers = Array.from({ length: 1000 }, (_, i) => ({ id: randomUUID(), directory_id: dir.body.id, user_id: null, user_name: `u${i}@acme.com`, user_name_lower: `u${i}@acme.com`, external_id: null, primary_email_lower: null, display_name_lower: null, active: true, data: JSON.stringify({ userName: `u${i}@acme.com`, active: true }), version: 1, created_at: now, updated_at: now }));
    await db.batchInsert('scim_users', scimUsers, 500);
    const group = await scim()('POST', '/Groups', { displayName: 'Everyone' });
    expect(group.status).toBe(201);

    // 1. SCIM: the PATCH inserts every member row, then blocks on the directory's activity stamp
    // (written at most once a second per process: wait for the next second so this write stamps it).
    await new Promise((r) => setTimeout(r, 1100));
    const patch = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: scimUsers.map((u) => ({ value: u.id })) }] };
    await killMidTransaction(db, s, `SELECT id FROM directories WHERE id = '${dir.body.id}' FOR UPDATE`, /update "directories"/i, () => scim()('PATCH', `/Groups/${group.body.id}`, patch));
    s = await start();
    expect(await count(db('scim_group_members').where({ group_id: group.body.id }))).toBe(0);
    expect((await db('scim_groups').where({ id: group.body.id }).first()).version).toBe(1);
    expect(await count(db('audit_events').where({ action: 'membership.added' }))).toBe(0);
    expect((await scim()('PATCH', `/Groups/${group.body.id}`, patch)).status).toBe(204);
    expect(await count(db('scim_group_members').where({ group_id: group.body.id }))).toBe(1000);

    // 2. Login sync: the account written (before the directory's verdict is read), then the sign-in's
    // other writes (identity, memberships in 100 organizations, audit, events, sync run: one
    // statement) blocked on the sync run table.
    const login = () => crossInstanceLogin(s.url, s.url, conn.id, conn.idp, { nameId: 'new@acme.com', email: 'new@acme.com' });
    // (Sent with the COMMIT as a prepared statement: EXECUTE; only the sign-in writes while it waits.)
    await killMidTransaction(db, s, 'LOCK TABLE sync_runs IN EXCLUSIVE MODE', /orgsync writes [^*]*\bsync_runs\b|^EXECUTE orgsync_x_/, login);
    s = await start();
    expect(await count(db('users').where({ email_lower: 'new@acme.com' }))).toBe(0);
    expect(await count(db('identities').where({ subject: 'new@acme.com' }))).toBe(0);
    expect(await count(db('audit_events').where({ action: 'login.succeeded' }))).toBe(0);
    expect(await count(db('events').where({ type: 'membership.added' }))).toBe(0);
    const ok = await login();
    expect(ok.status).toBe(303);
    expect(ok.me.body.organizations).toHaveLength(100);

    // 3. Bulk removal of 1,000 members: the deletes done, the audit records blocked.
    const userIds = Array.from({ length: 1000 }, () => randomUUID());
    await db.batchInsert('users', userIds.map((id, i) => ({ id, email: `m${i}@manual.example`, email_lower: `m${i}@manual.example`, active: true, created_at: now, updated_at: now })), 500);
    await db.batchInsert('memberships', userIds.map((user_id) => ({ organization_id: orgs.manual, user_id, role: 'member', source: 'manual', status: 'active', joined_at: now, last_synced_at: now })), 500);
    const remove = () => s.api('DELETE', `/api/v1/organizations/${orgs.manual}/members`, { body: { members: userIds } });
    await killMidTransaction(db, s, 'LOCK TABLE audit_events IN EXCLUSIVE MODE', /insert into "audit_events"/i, remove);
    s = await start();
    expect(await count(db('memberships').where({ organization_id: orgs.manual }))).toBe(1000);
    expect(await count(db('audit_events').where({ action: 'membership.removed' }))).toBe(0);
    expect((await remove()).status).toBe(204);
    expect(await count(db('memberships').where({ organization_id: orgs.manual }))).toBe(0);
    expect(await count(db('audit_events').where({ action: 'membership.removed' }))).toBe(1000);
  });
});

// SQLite only: the SQLite pass runs it; the PostgreSQL pass skips it rather than run it twice.
describe.skipIf(Boolean(TEST_DATABASE_URL))('SQLite: a server and the CLI writing one database file at once', { timeout: 240_000 }, () => {
  it('both succeed (WAL and busy timeout, no "database is locked")', async () => {
    const url = `sqlite:${join(tempDir(), 'orgsync.sqlite')}`;
    const s = await startInstance({ DATABASE_URL: url, ORGSYNC_BOOTSTRAP_API_KEY: KEY, LOG_LEVEL: 'warn' }, KEY);
    cleanups.push(() => s.stop());
    const api = Array.from({ length: 60 }, (_, i) => s.api('POST', '/api/v1/organizations', { body: { name: `api-${i}` } }));
    const cli = Array.from({ length: 3 }, (_, i) => runCli(['org', 'create', `cli-${i}`], { DATABASE_URL: url }));
    const [apiResults, cliResults] = await Promise.all([Promise.all(api), Promise.all(cli)]);
    expect(apiResults.map((r) => r.status)).toEqual(apiResults.map(() => 201));
    for (const r of cliResults) expect(r.code, r.stderr).toBe(0);
    const list = await s.api('GET', '/api/v1/organizations?take=100');
    expect(list.body.organizations).toHaveLength(63);
  });
});
