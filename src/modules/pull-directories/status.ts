import type { Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { PullSettings, SyncStatus } from './settings.js';
import * as q from './queries.js';

export interface PullRunView {
  id: string;
  trigger: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  requests: number;
  counts: Record<string, number>;
  error: string | null;
}

export const runView = (r: q.PullRunRow): PullRunView => ({
  id: r.id,
  trigger: r.trigger,
  status: r.status,
  started_at: r.started_at,
  finished_at: r.finished_at,
  requests: Number(r.requests),
  counts: parseJson<Record<string, number>>(r.counts, {}),
  error: r.error,
});

/** Last run, next run, counts and last error of a pull directory, for the API and the admin page. */
export async function syncStatus(db: Executor, directoryId: string, now: string): Promise<SyncStatus> {
  const [state, last, holder] = await Promise.all([q.findState(db, directoryId), q.lastRun(db, directoryId), q.leaseHolder(db, directoryId, now)]);
  const running = !!holder && last?.status === 'running';
  return {
    state: running ? 'running' : state && Number(state.failures) > 0 ? 'failing' : 'idle',
    last_run_at: state?.last_run_at ?? null,
    last_success_at: state?.last_success_at ?? null,
    next_run_at: state?.next_run_at ?? null,
    last_error: state?.last_error ?? null,
    failures: Number(state?.failures ?? 0),
    last_run: last ? runView(last) : null,
  };
}

/** The settings as shown: which secret is set, never the secret. */
export function settingsView(raw: string | null, secretSet: boolean) {
  const s = parseJson<PullSettings | null>(raw, null);
  if (!s) return null;
  return {
    sync_interval_seconds: s.sync_interval_seconds,
    ...(s.microsoft_graph ? { microsoft_graph: { ...s.microsoft_graph, client_secret_set: secretSet } } : {}),
    ...(s.google_workspace ? { google_workspace: { ...s.google_workspace, service_account_key_set: secretSet } } : {}),
  };
}
