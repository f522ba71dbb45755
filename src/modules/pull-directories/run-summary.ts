import type { Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { IdGenerator } from '../../platform/ids.js';
import type { FlagReason } from '../memberships/types.js';
import { emptyRun, insertSyncRuns, toSyncRun, type PullChanges, type PullRunSummary, type SyncRun, type SyncRunRow } from '../reports/sync-runs.js';
import type { PullKind } from './settings.js';
import { governedOrganizationIds } from '../connections/queries.js';

const BATCH = 1000;

const noChanges = (): PullChanges => ({ added: 0, updated: 0, flagged: 0, restored: 0, skipped: 0, by_reason: {} });
const changedNothing = (c: PullChanges) => c.added + c.updated + c.flagged + c.restored + c.skipped === 0;

/**
 * The report entries of the directory's run just before this one, by organization. Only that run's
 * entries can be repeated: a run in between (a quiet success writes no entry) breaks the series.
 */
async function previousRunEntries(trx: Executor, run: EndedPullRun): Promise<Map<string, SyncRun>> {
  const previous = await trx('directory_pull_runs')
    .where({ directory_id: run.directory_id })
    .whereNot({ id: run.id })
    .where('started_at', '<=', run.started_at)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .first<{ id: string } | undefined>('id');
  if (!previous) return new Map();
  const rows = await trx('sync_runs').where({ trigger: 'pull', pull_run_id: previous.id }).select<SyncRunRow[]>('*');
  return new Map(rows.map(toSyncRun).flatMap((r) => (r.pull ? [[r.pull.organization_id, r] as const] : [])));
}

/**
 * A run that did not complete, changed nothing in the organization and ended exactly as the
 * directory's previous run did there (same status, same error) replaces that run's entry, counting
 * it: a retry loop on bad credentials shows as one line ("failed 40 times since …") and does not
 * push the organization's other runs out of its recent runs.
 */
function repeatOf(summary: PullRunSummary, error: string | null, last: SyncRun | undefined): SyncRun | undefined {
  if (summary.complete || !changedNothing(summary.changes)) return undefined;
  const p = last?.pull;
  if (!last || !p || p.complete || p.status !== summary.status || last.error !== error || !changedNothing(p.changes)) return undefined;
  return last;
}

type Entry = { organization_id: string };
type Row = { id: string; added: string; updated: string; flagged: string; restored: string; skipped: string };

/**
 * What a pull run changed per organization, counted from the sync runs its pages wrote (tagged with
 * its id), a batch at a time: memory holds one counter per organization, whatever the run's size.
 */
export async function changesOfPullRun(db: Executor, runId: string): Promise<Map<string, PullChanges>> {
  const out = new Map<string, PullChanges>();
  const of = (orgId: string) => {
    let c = out.get(orgId);
    if (!c) out.set(orgId, (c = noChanges()));
    return c;
  };
  let after = '';
  for (;;) {
    const rows = await db('sync_runs')
      .where('pull_run_id', runId)
      .where('id', '>', after)
      .orderBy('id')
      .limit(BATCH)
      .select<Row[]>('id', 'added', 'updated', 'flagged', 'restored', 'skipped');
    for (const r of rows) {
      for (const kind of ['added', 'updated', 'restored', 'skipped'] as const) for (const e of parseJson<Entry[]>(r[kind], [])) of(e.organization_id)[kind] += 1;
      for (const e of parseJson<Array<Entry & { reason: FlagReason }>>(r.flagged, [])) {
        const c = of(e.organization_id);
        c.flagged += 1;
        c.by_reason[e.reason] = (c.by_reason[e.reason] ?? 0) + 1;
      }
    }
    if (rows.length < BATCH) return out;
    after = rows[rows.length - 1]!.id;
  }
}

export interface EndedPullRun {
  id: string;
  directory_id: string;
  trigger: string;
  status: 'succeeded' | 'failed' | 'interrupted';
  started_at: string;
  finished_at: string;
  requests: number;
  counts: Record<string, number>;
  error: string | null;
}

/**
 * One sync run (trigger `pull`) per organization the ended pull run concerns, so each organization's
 * sync report shows it with its evidence: every organization where it changed a membership, and —
 * when it did not complete — every organization the directory's connection governs, since the
 * absences it could not check concern all of them. Organizations of other connections never get
 * one. A quiet complete run writes nothing.
 */
export async function writePullSummaries(
  trx: Executor,
  ids: IdGenerator,
  run: EndedPullRun,
  dir: { connection_id: string; name: string; kind: PullKind },
  changes: Map<string, PullChanges>,
): Promise<void> {
  const complete = run.status === 'succeeded';
  const orgIds = new Set(changes.keys());
  if (!complete) for (const id of await governedOrganizationIds(trx, dir.connection_id)) orgIds.add(id);
  const previousEntries = complete ? new Map<string, SyncRun>() : await previousRunEntries(trx, run);
  const runs: SyncRun[] = [];
  const replaced: string[] = [];
  for (const organizationId of [...orgIds].sort()) {
    const summary: PullRunSummary = {
      run_id: run.id,
      organization_id: organizationId,
      directory_id: run.directory_id,
      directory_name: dir.name,
      kind: dir.kind,
      trigger: run.trigger === 'manual' ? 'manual' : 'schedule',
      status: run.status,
      complete,
      started_at: run.started_at,
      finished_at: run.finished_at,
      requests: run.requests,
      counts: run.counts,
      changes: changes.get(organizationId) ?? noChanges(),
    };
    const previous = repeatOf(summary, run.error, previousEntries.get(organizationId));
    if (previous) {
      summary.repeats = (previous.pull!.repeats ?? 1) + 1;
      summary.first_started_at = previous.pull!.first_started_at ?? previous.pull!.started_at;
      replaced.push(previous.id);
    }
    const r = emptyRun({ id: ids.uuid(), trigger: 'pull', user_id: null, connection_id: dir.connection_id, directory_id: run.directory_id, at: run.finished_at, pull_run_id: run.id });
    r.error = run.error;
    r.pull = summary;
    runs.push(r);
  }
  if (replaced.length) {
    await trx('sync_run_organizations').whereIn('sync_run_id', replaced).delete();
    await trx('sync_runs').whereIn('id', replaced).delete();
  }
  await insertSyncRuns(trx, runs);
}
