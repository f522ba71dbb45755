import type { Executor } from '../../platform/db.js';
import { toSyncRun, type GroupLikeAttribute, type GroupMatching, type GroupsIncompleteReason, type IncompleteSync, type SyncRun, type SyncRunRow, type SyncTrigger, type UnmatchedGroups } from '../reports/sync-runs.js';

/** Sync runs are stored and read by the reports module; login sync writes one run at a time (apply + WriteBatch). */
export type { GroupLikeAttribute, GroupMatching, GroupsIncompleteReason, IncompleteSync, SyncRun, SyncTrigger, UnmatchedGroups };

export async function latestSyncRunOfUser(db: Executor, userId: string, trigger?: SyncTrigger): Promise<SyncRun | null> {
  const q = db<SyncRunRow>('sync_runs').where({ user_id: userId }).orderBy('id', 'desc').first();
  if (trigger) q.where({ trigger });
  const row = await q;
  return row ? toSyncRun(row) : null;
}
