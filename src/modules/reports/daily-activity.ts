import type { Executor } from '../../platform/db.js';

/** Per UTC day, oldest first: how many memberships of one organization were flagged, removed, restored. */
export interface DailyActivity {
  days: string[];
  flagged: number[];
  removed: number[];
  restored: number[];
}

const ACTIONS = { 'membership.flagged': 'flagged', 'membership.removed': 'removed', 'membership.restored': 'restored' } as const;
type Series = (typeof ACTIONS)[keyof typeof ACTIONS];

const dayOf = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Read from the audit log, which records every flag, removal and restore with its organization,
 * through the partial index of migration 273. Its condition is repeated here word for word, as
 * literals: SQLite (and a generic PostgreSQL plan) use a partial index only when the query's own
 * WHERE visibly implies the index's.
 */
const IN_INDEX = "\"action\" IN ('membership.flagged', 'membership.removed', 'membership.restored')";

/** Counts per UTC day and action since `since`; exported so tests can check its plan. */
export function dailyActivityQuery(db: Executor, organizationId: string, since: string) {
  return db('audit_events')
    .where('organization_id', organizationId)
    .where('at', '>=', since)
    .whereRaw(IN_INDEX)
    .groupBy(db.raw('substr("at", 1, 10)'))
    .groupBy('action')
    .select<Array<{ day: string; action: keyof typeof ACTIONS; n: number | string }>>(db.raw('substr("at", 1, 10) as day'), 'action', db.raw('count(*) as n'));
}

export async function dailyActivity(db: Executor, organizationId: string, now: Date, days = 30): Promise<DailyActivity> {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1)));
  const out: DailyActivity = { days: [], flagged: [], removed: [], restored: [] };
  for (let i = 0; i < days; i++) {
    out.days.push(dayOf(new Date(first.getTime() + i * 86_400_000)));
    out.flagged.push(0);
    out.removed.push(0);
    out.restored.push(0);
  }
  const rows = await dailyActivityQuery(db, organizationId, first.toISOString());
  for (const r of rows) {
    const i = out.days.indexOf(r.day);
    const series: Series | undefined = ACTIONS[r.action];
    if (i >= 0 && series) out[series][i] = Number(r.n);
  }
  return out;
}
