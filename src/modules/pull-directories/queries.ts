import type { Db, Executor } from '../../platform/db.js';
import { releaseNamedLease, tryAcquireLease } from '../events/job-lease.js';

export interface PullStateRow {
  directory_id: string;
  cursor: string | null;
  next_run_at: string;
  last_run_at: string | null;
  last_success_at: string | null;
  last_error: string | null;
  failures: number;
}

export interface PullRunRow {
  id: string;
  directory_id: string;
  trigger: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  requests: number;
  counts: string;
  error: string | null;
}

export const leaseName = (directoryId: string) => `pull-directory:${directoryId}`;

export const acquireLease = (db: Executor, directoryId: string, owner: string, now: Date, ttlMs: number) => tryAcquireLease(db, leaseName(directoryId), owner, now, ttlMs);

export async function renewLease(db: Executor, directoryId: string, owner: string, until: string): Promise<boolean> {
  return (await db('job_locks').where({ name: leaseName(directoryId), owner }).update({ locked_until: until })) > 0;
}

/** Ends our lease at once so the next run (here or on another instance) need not wait for it to expire. */
export const releaseLease = (db: Executor, directoryId: string, owner: string) => releaseNamedLease(db, leaseName(directoryId), owner);

export async function leaseHolder(db: Executor, directoryId: string, now: string): Promise<string | null> {
  const row = await db('job_locks').where({ name: leaseName(directoryId) }).where('locked_until', '>', now).first<{ owner: string } | undefined>('owner');
  return row?.owner ?? null;
}

export const findState = (db: Executor, directoryId: string) => db<PullStateRow>('directory_pull_state').where({ directory_id: directoryId }).first();

export async function insertState(db: Executor, directoryId: string, nextRunAt: string): Promise<void> {
  await db('directory_pull_state').insert({ directory_id: directoryId, cursor: null, next_run_at: nextRunAt, failures: 0 });
}

export async function saveCursor(db: Executor, directoryId: string, cursor: string | null): Promise<void> {
  await db('directory_pull_state').where({ directory_id: directoryId }).update({ cursor });
}

export async function updateState(db: Executor, directoryId: string, fields: Partial<Omit<PullStateRow, 'directory_id'>>): Promise<void> {
  await db('directory_pull_state').where({ directory_id: directoryId }).update(fields);
}

/** Directories whose next run is due, oldest first. */
export function dueDirectories(db: Db, now: string, take: number): Promise<Array<{ directory_id: string }>> {
  return db('directory_pull_state').where('next_run_at', '<=', now).orderBy('next_run_at').limit(take).select('directory_id');
}

export async function insertRun(db: Executor, row: PullRunRow): Promise<void> {
  await db('directory_pull_runs').insert(row);
}

export const runningRuns = (db: Executor, directoryId: string) => db<PullRunRow>('directory_pull_runs').where({ directory_id: directoryId, status: 'running' });

export async function finishRun(db: Executor, id: string, fields: Pick<PullRunRow, 'status' | 'finished_at' | 'requests' | 'counts' | 'error'>): Promise<void> {
  await db('directory_pull_runs').where({ id }).update(fields);
}

export const lastRun = (db: Executor, directoryId: string) =>
  db<PullRunRow>('directory_pull_runs').where({ directory_id: directoryId }).orderBy('started_at', 'desc').orderBy('id', 'desc').first();

export function listRuns(db: Executor, directoryId: string, take: number, before?: string): Promise<PullRunRow[]> {
  const query = db<PullRunRow>('directory_pull_runs').where({ directory_id: directoryId }).orderBy('started_at', 'desc').orderBy('id', 'desc').limit(take);
  if (before) query.where('started_at', '<', before);
  return query;
}

export async function insertSeen(db: Executor, directoryId: string, passId: string, kind: string, remoteIds: string[]): Promise<void> {
  const unique = [...new Set(remoteIds)];
  for (let i = 0; i < unique.length; i += 400) {
    await db('directory_pull_seen')
      .insert(unique.slice(i, i + 400).map((remote_id) => ({ directory_id: directoryId, pass_id: passId, kind, remote_id })))
      .onConflict(['directory_id', 'pass_id', 'kind', 'remote_id'])
      .ignore();
  }
}

export async function clearSeen(db: Executor, directoryId: string, passId: string): Promise<void> {
  await db('directory_pull_seen').where({ directory_id: directoryId, pass_id: passId }).delete();
}

export async function countSeen(db: Executor, directoryId: string, passId: string, kind: string): Promise<number> {
  const row = await db('directory_pull_seen').where({ directory_id: directoryId, pass_id: passId, kind }).count<Array<{ n: number | string }>>({ n: '*' });
  return Number(row[0]?.n ?? 0);
}

/** Users of the directory that a complete pass did not see, a batch at a time. */
export function unseenUsers(db: Executor, directoryId: string, passId: string, take: number): Promise<Array<{ external_id: string }>> {
  return db('scim_users as u')
    .where('u.directory_id', directoryId)
    .whereNotNull('u.external_id')
    .whereNotExists((s) => s.from('directory_pull_seen as s').where({ 's.directory_id': directoryId, 's.pass_id': passId, 's.kind': 'user' }).whereRaw('"s"."remote_id" = "u"."external_id"'))
    .orderBy('u.external_id')
    .limit(take)
    .select('u.external_id');
}

export function unseenGroups(db: Executor, directoryId: string, passId: string, take: number): Promise<Array<{ external_id: string }>> {
  return db('scim_groups as g')
    .where('g.directory_id', directoryId)
    .whereNotNull('g.external_id')
    .whereNotExists((s) => s.from('directory_pull_seen as s').where({ 's.directory_id': directoryId, 's.pass_id': passId, 's.kind': 'group' }).whereRaw('"s"."remote_id" = "g"."external_id"'))
    .orderBy('g.external_id')
    .limit(take)
    .select('g.external_id');
}

/**
 * Group memberships a complete pass did not see, among the groups whose member lists it read in
 * full (seen kind `members`); a batch at a time.
 */
export function unseenMembers(db: Executor, directoryId: string, passId: string, take: number): Promise<Array<{ group_id: string; scim_user_id: string }>> {
  return db('scim_group_members as m')
    .join('scim_groups as g', 'g.id', 'm.group_id')
    .join('scim_users as u', 'u.id', 'm.scim_user_id')
    .where('m.directory_id', directoryId)
    .whereExists((s) => s.from('directory_pull_seen as s').where({ 's.directory_id': directoryId, 's.pass_id': passId, 's.kind': 'group' }).whereRaw('"s"."remote_id" = "g"."external_id"'))
    .whereNotExists((s) =>
      s.from('directory_pull_seen as s').where({ 's.directory_id': directoryId, 's.pass_id': passId, 's.kind': 'member' }).whereRaw(`"s"."remote_id" = "g"."external_id" || ':' || "u"."external_id"`),
    )
    .orderBy(['m.group_id', 'm.scim_user_id'])
    .limit(take)
    .select('m.group_id', 'm.scim_user_id');
}
