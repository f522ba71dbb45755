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
