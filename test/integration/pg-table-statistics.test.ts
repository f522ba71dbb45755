/**
 * Statistics for the tables an initial sync grows (src/platform/table-statistics.ts): on PostgreSQL
 * a table is analyzed once it has doubled (plus ANALYZE_AFTER_CHANGES rows), and the `userName eq`
 * lookup's cached plan then finds the user by the unique index instead of scanning the directory.
 * This file needs TEST_DATABASE_URL; on SQLite the job does nothing, which the last test checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../helpers/db.js';
import { insertConnection } from '../helpers/scim-builders.js';
import { createDb, migrateLatest } from '../../src/platform/db.js';
import { analyzeGrownTables, ANALYZE_AFTER_CHANGES, TableStatisticsJob } from '../../src/platform/table-statistics.js';
import type { Logger } from '../../src/platform/logger.js';

if (!TEST_DATABASE_URL) console.warn('pg-table-statistics.test.ts: the PostgreSQL tests are skipped (set TEST_DATABASE_URL)');

let d: TestDatabase | undefined;
afterEach(async () => {
  await d?.cleanup();
  d = undefined;
});

/** Migrated, with autovacuum kept off the tables under test: only the job may analyze them here. */
async function migrated(db: TestDatabase['db']): Promise<void> {
  await migrateLatest(db);
  for (const table of ['users', 'scim_users']) await db.raw('ALTER TABLE ?? SET (autovacuum_enabled = false)', [table]);
}

/** A directory with `n` SCIM users (and their accounts) inserted in one statement each. */
async function directoryWithUsers(db: TestDatabase['db'], n: number, from = 0): Promise<string> {
  const existing = (await db('directories').first('id')) as { id: string } | undefined;
  const at = '2026-12-07T00:00:00.000Z';
  let directoryId = existing?.id;
  if (!directoryId) {
    const connectionId = await insertConnection(db);
    directoryId = '00000000-0000-4000-8000-0000000d1a00';
    await db('directories').insert({ id: directoryId, connection_id: connectionId, name: 'statistics', created_at: at });
  }
  await db.raw(
    `INSERT INTO "users" ("id", "email", "email_lower", "active", "created_at", "updated_at")
       SELECT 'u' || g, 'u' || g || '@example.com', 'u' || g || '@example.com', TRUE, ?, ? FROM generate_series(?::int, ?::int) g`,
    [at, at, from + 1, from + n],
  );
  await db.raw(
    `INSERT INTO "scim_users" ("id", "directory_id", "user_id", "user_name", "user_name_lower", "external_id", "primary_email_lower", "active", "data", "version", "created_at", "updated_at")
       SELECT 's' || g, ?, 'u' || g, 'u' || g || '@example.com', 'u' || g || '@example.com', 'x' || g, 'u' || g || '@example.com', TRUE, '{}', 1, ?, ? FROM generate_series(?::int, ?::int) g`,
    [directoryId, at, at, from + 1, from + n],
  );
  // Counters reach pg_stat_user_tables when a session reports them: now, for this one.
  await db.raw('SELECT pg_stat_force_next_flush()');
  return directoryId;
}

/** The index the cached (generic) plan of a SCIM `userName eq` lookup reads, as the list compiles it. */
async function lookupIndex(db: TestDatabase['db'], directoryId: string): Promise<string> {
  const conn = await db.client.acquireConnection();
  try {
    const q = (sql: string) => new Promise<{ rows: Array<Record<string, string>> }>((resolve, reject) => conn.query(sql, (err: Error | null, r: { rows: Array<Record<string, string>> }) => (err ? reject(err) : resolve(r))));
    await q('SET plan_cache_mode = force_generic_plan');
    await q('DEALLOCATE ALL');
    await q(`PREPARE lookup(text, text, int, int) AS SELECT "scim_users"."id" FROM "scim_users" WHERE "scim_users"."directory_id" = $1 AND ("scim_users"."user_name_lower" IS NOT NULL AND "scim_users"."user_name_lower" = $2) ORDER BY "scim_users"."created_at" ASC, "scim_users"."id" ASC LIMIT $3 OFFSET $4`);
    const plan = (await q(`EXPLAIN (FORMAT JSON) EXECUTE lookup('${directoryId}', 'nobody@example.com', 100, 0)`)).rows[0]!['QUERY PLAN'] as unknown;
    await q('DEALLOCATE lookup');
    const text = JSON.stringify(plan);
    return /"Index Name":"(\w+)"/.exec(text)?.[1] ?? text;
  } finally {
    await db.client.releaseConnection(conn);
  }
}

describe.skipIf(!TEST_DATABASE_URL)('PostgreSQL statistics for the tables an initial sync grows', () => {
  it('analyzes a grown table once it has doubled, and the userName lookup then reads the unique index instead of the whole directory', async () => {
    d = await createTestDatabase('postgres');
    await migrated(d.db);
    const directoryId = await directoryWithUsers(d.db, 1_500);
    // Never analyzed: every index on directory_id looks alike, and the plan takes the one in list order.
    expect(await lookupIndex(d.db, directoryId)).toBe('scim_users_dir_created_idx');

    const analyzed = await analyzeGrownTables(d.db);
    expect(analyzed).toEqual(expect.arrayContaining(['scim_users', 'users']));
    const stats = await d.db.raw('SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = \'scim_users\'');
    expect(stats.rows[0].last_analyze).not.toBeNull();
    expect(await lookupIndex(d.db, directoryId)).toBe('scim_users_dir_username_unique');

    // Nothing is due until the table has doubled again.
    await d.db.raw('SELECT pg_stat_force_next_flush()');
    expect(await analyzeGrownTables(d.db)).toEqual([]);
    await directoryWithUsers(d.db, 1_000, 1_500);
    expect(await analyzeGrownTables(d.db)).toEqual([]);
    await directoryWithUsers(d.db, 500 + ANALYZE_AFTER_CHANGES, 2_500);
    expect(await analyzeGrownTables(d.db)).toEqual(expect.arrayContaining(['scim_users', 'users']));
  });

  it("analyzes the tables of its own schema only: another customer's database on the same server is never touched", async () => {
    d = await createTestDatabase('postgres');
    await migrated(d.db);
    await directoryWithUsers(d.db, 300);
    const other = await createTestDatabase('postgres');
    try {
      await migrated(other.db);
      await directoryWithUsers(other.db, 300);
      expect(await analyzeGrownTables(d.db)).toContain('scim_users');
      const r = await other.db.raw('SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = \'scim_users\'');
      expect(r.rows[0].last_analyze).toBeNull();
    } finally {
      await other.cleanup();
    }
  });

  it("the server's job analyzes on its tick, and a tick that fails is logged, never thrown", async () => {
    d = await createTestDatabase('postgres');
    await migrated(d.db);
    await directoryWithUsers(d.db, 300);
    const logged: Array<[string, unknown]> = [];
    const log = { debug: (o: unknown) => logged.push(['debug', o]), warn: (o: unknown) => logged.push(['warn', o]) } as unknown as Logger;
    await new TableStatisticsJob(d.db, log).tick();
    expect(logged).toEqual([['debug', { tables: expect.arrayContaining(['scim_users', 'users']) }]]);
    const gone = createDb(d.url);
    await gone.destroy();
    await expect(new TableStatisticsJob(gone, log).tick()).resolves.toBeUndefined();
    expect(logged[1]?.[0]).toBe('warn');
  });
});

it('does nothing on SQLite', async () => {
  d = await createTestDatabase('sqlite');
  await migrateLatest(d.db);
  expect(await analyzeGrownTables(d.db)).toEqual([]);
});
