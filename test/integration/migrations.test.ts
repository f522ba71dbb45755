import { describe, expect, it } from 'vitest';
import { migrateDown, migrateLatest, type Db } from '../../src/platform/db.js';
import { migrationSource } from '../../migrations/index.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../helpers/db.js';

async function tableNames(db: Db): Promise<string[]> {
  if (db.client.config.client === 'pg') {
    const r = await db.raw<{ rows: { table_name: string }[] }>(
      `select table_name from information_schema.tables where table_schema = current_schema() and table_name not like 'knex%'`,
    );
    return r.rows.map((x) => x.table_name).sort();
  }
  const rows = await db.raw<{ name: string }[]>(`select name from sqlite_master where type = 'table' and name not like 'knex%' and name not like 'sqlite%'`);
  return rows.map((x) => x.name).sort();
}

const dialects = [
  ['sqlite', true],
  ['postgres', !!TEST_DATABASE_URL],
] as const;

describe.each(dialects)('migrations on %s', (kind, available) => {
  it.skipIf(!available)('migrate up, down to nothing, and up again', async () => {
    const t = await createTestDatabase(kind);
    try {
      await migrateLatest(t.db);
      const all = await migrationSource.getMigrations([]);
      const first = await tableNames(t.db);
      expect(first).toEqual(expect.arrayContaining(['users', 'identities', 'organizations', 'connections', 'memberships', 'scim_users', 'scim_groups',
        'scim_group_members', 'directories', 'directory_tokens', 'removal_records', 'sync_runs', 'audit_events', 'api_keys', 'sessions',
        'saml_requests', 'saml_replay_cache', 'saml_login_handoffs', 'rate_limits', 'events', 'settings', 'membership_rules', 'job_locks']));
      // one step down removes exactly the last migration's tables
      await migrateDown(t.db);
      const [done] = (await t.db.migrate.list({ migrationSource })) as [unknown[], unknown[]];
      expect(done).toHaveLength(all.length - 1);
      await migrateDown(t.db, true);
      expect(await tableNames(t.db)).toEqual([]);
      await migrateLatest(t.db);
      expect(await tableNames(t.db)).toEqual(first);
    } finally {
      await t.cleanup();
    }
  });
});

describe.each(dialects)('rolling back keeps the data of the tables that stay, on %s', (kind, available) => {
  it.skipIf(!available)('down to the base schema leaves users, identities, memberships, directories and their SCIM rows in place', async () => {
    const t = await createTestDatabase(kind);
    const at = '2026-01-01T00:00:00.000Z';
    try {
      await migrateLatest(t.db);
      const db = t.db;
      await db('connections').insert({ id: 'c1', name: 'c1', type: 'saml', idp: '{}', attribute_mapping: '{}', created_at: at, updated_at: at });
      await db('connection_domains').insert({ domain: 'acme.test', connection_id: 'c1' });
      await db('users').insert({ id: 'u1', email: 'a@acme.test', email_lower: 'a@acme.test', active: true, created_at: at, updated_at: at });
      await db('identities').insert({ id: 'i1', user_id: 'u1', connection_id: 'c1', subject: 's1', created_at: at });
      await db('organizations').insert({ id: 'o1', name: 'o1', display_name: 'O1', connection_id: 'c1', created_at: at, updated_at: at });
      await db('memberships').insert({ organization_id: 'o1', user_id: 'u1', role: 'member', source: 'sso', status: 'active', joined_at: at });
      await db('directories').insert({ id: 'd1', connection_id: 'c1', name: 'D', created_at: at });
      await db('directory_tokens').insert({ id: 'k1', directory_id: 'd1', token_hash: 'h', prefix: 'p', created_at: at });
      await db('scim_users').insert({ id: 's1', directory_id: 'd1', user_id: 'u1', user_name: 'a', user_name_lower: 'a', data: '{}', created_at: at, updated_at: at });
      const tables = ['connections', 'connection_domains', 'users', 'identities', 'organizations', 'memberships', 'directories', 'directory_tokens', 'scim_users'];
      const count = async () => Promise.all(tables.map(async (name) => Number((await db(name).count<{ n: number }[]>({ n: '*' }))[0]!.n)));
      const before = await count();
      const all = await migrationSource.getMigrations([]);
      for (let i = all.length - 1; all[i] !== '018-job-locks'; i--) await migrateDown(db);
      expect(await count()).toEqual(before);
    } finally {
      await t.cleanup();
    }
  });
});

describe.skipIf(!TEST_DATABASE_URL)('PostgreSQL migrations 306, 305, 304, 303, 301 and 300 down', () => {
  it('number waiting events and fold count slots back into the directory, losing nothing', async () => {
    const t = await createTestDatabase('postgres');
    try {
      await migrateLatest(t.db);
      expect((await t.db.raw(`SELECT reloptions FROM pg_class WHERE oid = 'memberships'::regclass`)).rows[0].reloptions).toEqual(['fillfactor=50']);
      const now = new Date().toISOString();
      await t.db('connections').insert({ id: 'c1', name: 'c1', type: 'saml', idp: '{}', attribute_mapping: '{}', created_at: now, updated_at: now });
      await t.db('directories').insert({ id: 'd1', connection_id: 'c1', name: 'd1', created_at: now });
      await t.db('scim_users').insert(Array.from({ length: 7 }, (_, i) => ({ id: `u${i}`, directory_id: 'd1', user_name: `u${i}`, user_name_lower: `u${i}`, active: true, data: '{}', version: 1, created_at: now, updated_at: now })));
      await t.db('scim_users').where({ id: 'u0' }).delete();
      // Written after commit numbering took over: no number yet.
      await t.db('events').insert([1, 2, 3].map((n) => ({ id: `e${n}`, type: 'user.updated', at: now, data: '{}' })));
      expect(await t.db('events').whereNull('seq').count({ n: '*' })).toEqual([{ n: '3' }]);

      // 305: the sequence-number index covers numbered events only, and still serves the cursor read.
      const seqIndex = async () => (await t.db.raw(`SELECT indexdef FROM pg_indexes WHERE indexname = 'events_seq_unique' AND schemaname = current_schema()`)).rows[0].indexdef as string;
      expect(await seqIndex()).toMatch(/UNIQUE INDEX .* WHERE \(seq IS NOT NULL\)$/);
      await t.db('events').insert([{ id: 'n1', seq: 1001, type: 'user.updated', at: now, data: '{}' }]);
      await expect(t.db('events').insert({ id: 'n2', seq: 1001, type: 'user.updated', at: now, data: '{}' })).rejects.toMatchObject({ code: '23505' });
      // A generic plan, as for the readers' parameters: `seq > $1` alone proves `seq IS NOT NULL`.
      const plan = await t.db.transaction(async (trx) => {
        await trx.raw('SET LOCAL enable_seqscan = off');
        await trx.raw('SET LOCAL plan_cache_mode = force_generic_plan');
        await trx.raw('PREPARE "after_cursor" (bigint, int) AS SELECT * FROM "events" WHERE "seq" > $1 ORDER BY "seq" LIMIT $2');
        const lines = (await trx.raw('EXPLAIN EXECUTE "after_cursor" (5, 10)')).rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']);
        await trx.raw('DEALLOCATE "after_cursor"');
        return lines.join('\n');
      });
      expect(plan).toMatch(/Index Scan using events_seq_unique/);
      await t.db('events').where({ id: 'n1' }).delete();
      // 305: links are written with their run and deleted before it, with no foreign key to check per row.
      await t.db('sync_run_organizations').insert({ sync_run_id: 'gone', organization_id: 'o1' });
      await migrateDown(t.db); // 306: the flagged-at index covers every membership again
      expect((await t.db.raw(`SELECT indexname FROM pg_indexes WHERE tablename = 'memberships' AND indexname LIKE '%flagged_at%' AND schemaname = current_schema()`)).rows).toEqual([{ indexname: 'memberships_org_status_flagged_at_idx' }]);
      await migrateDown(t.db); // 305
      expect(await seqIndex()).toMatch(/UNIQUE INDEX .* \(seq\)$/);
      expect(await t.db('sync_run_organizations').count({ n: '*' })).toEqual([{ n: '0' }]);
      await expect(t.db('sync_run_organizations').insert({ sync_run_id: 'gone', organization_id: 'o1' })).rejects.toMatchObject({ code: '23503' });

      const expectFunctions = async () => (await t.db.raw(`SELECT count(*)::int AS "n" FROM pg_proc WHERE proname = 'orgsync_expect' AND pronamespace = current_schema()::regnamespace`)).rows[0].n;
      expect(await expectFunctions()).toBe(1);
      await expect(t.db.raw('SELECT orgsync_expect(1 = 2)')).rejects.toMatchObject({ code: 'OSG01' });
      expect((await t.db.raw('SELECT orgsync_expect(1 = 1) AS "ok"')).rows).toEqual([{ ok: true }]);
      await migrateDown(t.db); // 304: the expectation check
      expect(await expectFunctions()).toBe(0);
      await migrateDown(t.db); // 303: memberships keep room for updates
      expect((await t.db.raw(`SELECT reloptions FROM pg_class WHERE oid = 'memberships'::regclass`)).rows[0].reloptions).toBeNull();
      await migrateDown(t.db); // 301
      expect(await t.db('directories').where({ id: 'd1' }).first('scim_user_count')).toEqual({ scim_user_count: 6 });
      await migrateDown(t.db); // 300
      const events = await t.db('events').orderBy('seq').select<Array<{ id: string; seq: string }>>('id', 'seq');
      expect(events.map((e) => e.id)).toEqual(['e1', 'e2', 'e3']);
      expect(events.every((e) => e.seq !== null)).toBe(true);
      // The old trigger counts again, and the way back up keeps the count.
      await t.db('scim_users').insert({ id: 'u9', directory_id: 'd1', user_name: 'u9', user_name_lower: 'u9', active: true, data: '{}', version: 1, created_at: now, updated_at: now });
      await migrateLatest(t.db);
      await t.db('scim_users').where({ id: 'u1' }).delete();
      const kept = await t.db.raw<{ rows: Array<{ n: string }> }>(`SELECT d.scim_user_count + COALESCE((SELECT sum(n) FROM directory_resource_counts c WHERE c.directory_id = d.id AND c.kind = 'user'), 0) AS n FROM directories d WHERE d.id = 'd1'`);
      expect(Number(kept.rows[0]!.n)).toBe(6);
    } finally {
      await t.cleanup();
    }
  });
});
