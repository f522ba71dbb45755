import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { dialectOf, migrateLatest } from '../../src/platform/db.js';
import { dailyActivityQuery } from '../../src/modules/reports/daily-activity.js';
import { newestFlaggedQuery } from '../../src/modules/reports/queries.js';
import { oldFlagsQuery } from '../../src/modules/flags/auto-remove.js';

/**
 * Reads of the sync report and of flags must reach their partial indexes (migrations 273 and 306),
 * not the organization's whole history: a partial index is used only when the query itself implies
 * its condition, which a bound parameter does not on SQLite, nor in a PostgreSQL generic plan.
 */
let d: TestDatabase;
beforeEach(async () => {
  d = await createTestDatabase();
  await migrateLatest(d.db);
});
afterEach(async () => {
  await d.cleanup();
});

const ORG = '01900000-0000-7000-8000-000000000001';

/** The query's plan; on PostgreSQL the generic one, which it keeps for a statement it runs often. */
async function planOf(query: Knex.QueryBuilder): Promise<string> {
  if (dialectOf(d.db) === 'pg') {
    const { sql, bindings } = query.toSQL().toNative();
    const literal = (v: unknown) => (typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);
    return d.db.transaction(async (trx) => {
      // An empty table is cheapest to scan whole; with that ruled out the planner shows what it can use.
      await trx.raw('SET LOCAL enable_seqscan = off');
      await trx.raw('SET LOCAL plan_cache_mode = force_generic_plan');
      await trx.raw(`PREPARE "plan_probe" AS ${sql}`);
      const rows = (await trx.raw(`EXPLAIN EXECUTE "plan_probe" (${bindings.map(literal).join(', ')})`)) as { rows: Array<Record<string, string>> };
      await trx.raw('DEALLOCATE "plan_probe"');
      return rows.rows.map((r) => r['QUERY PLAN']).join('\n');
    });
  }
  const { sql, bindings } = query.toSQL();
  const rows = (await d.db.raw(`EXPLAIN QUERY PLAN ${sql}`, bindings as never[])) as Array<{ detail: string }>;
  return rows.map((r) => r.detail).join('\n');
}

describe('the report chart query', () => {
  it('is answered from the membership-changes index alone', async () => {
    const plan = await planOf(dailyActivityQuery(d.db, ORG, '2026-11-07T00:00:00.000Z'));
    if (dialectOf(d.db) === 'pg') expect(plan).toMatch(/Index Only Scan using audit_events_membership_changes_idx/);
    else expect(plan).toContain('USING COVERING INDEX audit_events_membership_changes_idx');
  });
});

describe('the partial flagged-at index', () => {
  it("serves the report's newest flags", async () => {
    expect(await planOf(newestFlaggedQuery(d.db, ORG, 11))).toMatch(/memberships_flagged_at_idx/);
  });

  it("or the status index bounds the auto-removal of old flags to the organization's flagged memberships", async () => {
    // Ordered by user: the planner may read the (organization, status, user) index instead, which
    // reaches the flagged memberships just as directly; either way no active membership is read.
    const plan = await planOf(oldFlagsQuery(d.db, ORG, '2026-01-01T00:00:00.000Z', 1000));
    expect(/memberships_flagged_at_idx/.test(plan) || /memberships_org_status_idx[\s\S]*status/.test(plan), plan).toBe(true);
  });

  it('holds flagged memberships only, and both reads find them', async () => {
    const now = '2026-01-01T00:00:00.000Z';
    await d.db('organizations').insert({ id: ORG, name: 'o', display_name: 'O', created_at: now, updated_at: now });
    await d.db('users').insert(['a', 'b'].map((id) => ({ id, email: `${id}@x.test`, email_lower: `${id}@x.test`, created_at: now, updated_at: now })));
    await d.db('memberships').insert([
      { organization_id: ORG, user_id: 'a', role: 'member', source: 'sso', status: 'active', joined_at: now },
      { organization_id: ORG, user_id: 'b', role: 'member', source: 'sso', status: 'flagged', flagged_reason: 'idp_deactivated', flagged_at: now, joined_at: now },
    ]);
    expect((await newestFlaggedQuery(d.db, ORG, 10)).map((r) => r.user_id)).toEqual(['b']);
    expect((await oldFlagsQuery(d.db, ORG, '2026-02-01T00:00:00.000Z', 10)).map((r) => r.user_id)).toEqual(['b']);
  });
});
