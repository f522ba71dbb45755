import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { dialectOf, migrateLatest } from '../../src/platform/db.js';
import { dailyActivityQuery } from '../../src/modules/reports/daily-activity.js';

/**
 * The sync report's chart must read its partial index (migration 273), not the organization's whole
 * audit history: a partial index is used only when the query visibly implies its condition.
 */
let d: TestDatabase;
beforeEach(async () => {
  d = await createTestDatabase();
  await migrateLatest(d.db);
});
afterEach(async () => {
  await d.cleanup();
});

describe('the report chart query', () => {
  it('is answered from the membership-changes index alone', async () => {
    const q = dailyActivityQuery(d.db, '01900000-0000-7000-8000-000000000001', '2026-11-07T00:00:00.000Z').toSQL();
    let plan: string;
    if (dialectOf(d.db) === 'pg') {
      // An empty table is cheapest to scan whole; with that ruled out the planner shows what it can use.
      plan = await d.db.transaction(async (trx) => {
        await trx.raw('SET LOCAL enable_seqscan = off');
        const rows = (await trx.raw(`EXPLAIN ${q.sql}`, q.bindings as never[])) as { rows: Array<Record<string, string>> };
        return rows.rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      expect(plan).toMatch(/Index Only Scan using audit_events_membership_changes_idx/);
    } else {
      const rows = (await d.db.raw(`EXPLAIN QUERY PLAN ${q.sql}`, q.bindings as never[])) as Array<{ detail: string }>;
      plan = rows.map((r) => r.detail).join('\n');
      expect(plan).toContain('USING COVERING INDEX audit_events_membership_changes_idx');
    }
  });
});
