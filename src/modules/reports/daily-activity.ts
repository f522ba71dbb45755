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
 * Read from the audit log, which records every flag, removal and restore with its organization.
 * The organization's index is ordered by `seq`, so the scan starts at the first event of the window
 * (found through the `at` index) instead of at the organization's first event ever: the cost
 * follows the last `days` of this organization's events, not its whole history.
 */
export async function dailyActivity(db: Executor, organizationId: string, now: Date, days = 30): Promise<DailyActivity> {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1)));
  const since = first.toISOString();
  const start = await db('audit_events').where('at', '>=', since).orderBy('at').first<{ seq: number | string } | undefined>('seq');
  const out: DailyActivity = { days: [], flagged: [], removed: [], restored: [] };
  for (let i = 0; i < days; i++) {
    out.days.push(dayOf(new Date(first.getTime() + i * 86_400_000)));
    out.flagged.push(0);
    out.removed.push(0);
    out.restored.push(0);
  }
  if (!start) return out;
  const rows = await db('audit_events')
    .where('organization_id', organizationId)
    .where('seq', '>=', start.seq)
    .where('at', '>=', since)
    .whereIn('action', Object.keys(ACTIONS))
    .groupBy(db.raw('substr(at, 1, 10)'))
    .groupBy('action')
    .select<Array<{ day: string; action: keyof typeof ACTIONS; n: number | string }>>(db.raw('substr(at, 1, 10) as day'), 'action', db.raw('count(*) as n'));
  for (const r of rows) {
    const i = out.days.indexOf(r.day);
    const series: Series | undefined = ACTIONS[r.action];
    if (i >= 0 && series) out[series][i] = Number(r.n);
  }
  return out;
}
