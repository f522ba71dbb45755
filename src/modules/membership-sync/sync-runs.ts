import type { Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { FlagReason, Role, SkipReason } from '../memberships/types.js';

export type SyncTrigger = 'login' | 'scim' | 'reconcile';

/** SPEC §5 sync run shape. */
export interface SyncRun {
  id: string;
  trigger: SyncTrigger;
  user_id: string | null;
  connection_id: string | null;
  at: string;
  added: { organization_id: string; role: Role }[];
  updated: { organization_id: string; from_role: Role; to_role: Role }[];
  flagged: { organization_id: string; reason: FlagReason }[];
  restored: { organization_id: string }[];
  skipped: { organization_id: string; reason: SkipReason }[];
  error: string | null;
}

interface SyncRunRow {
  id: string;
  trigger: SyncTrigger;
  user_id: string | null;
  connection_id: string | null;
  directory_id: string | null;
  at: string;
  added: string;
  updated: string;
  flagged: string;
  restored: string;
  skipped: string;
  error: string | null;
}

export const toSyncRun = (r: SyncRunRow): SyncRun => ({
  id: r.id,
  trigger: r.trigger,
  user_id: r.user_id,
  connection_id: r.connection_id,
  at: r.at,
  added: parseJson(r.added, []),
  updated: parseJson(r.updated, []),
  flagged: parseJson(r.flagged, []),
  restored: parseJson(r.restored, []),
  skipped: parseJson(r.skipped, []),
  error: r.error,
});

/** Writes the run and the index of organizations it touched (for per-organization reports). */
export async function insertSyncRun(db: Executor, run: SyncRun, directoryId: string | null = null): Promise<void> {
  await db('sync_runs').insert({
    id: run.id,
    trigger: run.trigger,
    user_id: run.user_id,
    connection_id: run.connection_id,
    directory_id: directoryId,
    at: run.at,
    added: JSON.stringify(run.added),
    updated: JSON.stringify(run.updated),
    flagged: JSON.stringify(run.flagged),
    restored: JSON.stringify(run.restored),
    skipped: JSON.stringify(run.skipped),
    error: run.error,
  });
  const orgs = new Set([...run.added, ...run.updated, ...run.flagged, ...run.restored, ...run.skipped].map((c) => c.organization_id));
  const rows = [...orgs].map((organization_id) => ({ sync_run_id: run.id, organization_id }));
  for (let i = 0; i < rows.length; i += 500) await db('sync_run_organizations').insert(rows.slice(i, i + 500));
}

export async function latestSyncRunOfUser(db: Executor, userId: string, trigger?: SyncTrigger): Promise<SyncRun | null> {
  const q = db<SyncRunRow>('sync_runs').where({ user_id: userId }).orderBy('id', 'desc').first();
  if (trigger) q.where({ trigger });
  const row = await q;
  return row ? toSyncRun(row) : null;
}
