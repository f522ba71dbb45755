import type { Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { IdGenerator } from '../../platform/ids.js';
import type { FlagReason } from '../memberships/types.js';
import { emptyRun, insertSyncRuns, type PullChanges, type PullRunSummary, type SyncRun } from '../reports/sync-runs.js';
import type { PullKind } from './settings.js';

const BATCH = 1000;

const noChanges = (): PullChanges => ({ added: 0, updated: 0, flagged: 0, restored: 0, skipped: 0, by_reason: {} });

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
  if (!complete) for (const id of await trx('organizations').where({ connection_id: dir.connection_id }).pluck<string[]>('id')) orgIds.add(id);
  const runs: SyncRun[] = [];
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
    const r = emptyRun({ id: ids.uuid(), trigger: 'pull', user_id: null, connection_id: dir.connection_id, directory_id: run.directory_id, at: run.finished_at, pull_run_id: run.id });
    r.error = run.error;
    r.pull = summary;
    runs.push(r);
  }
  await insertSyncRuns(trx, runs);
}
