import type { Executor } from '../../platform/db.js';
import { dialectOf } from '../../platform/db.js';

export interface DirectoryRow {
  id: string;
  connection_id: string;
  name: string;
  created_at: string;
  last_activity_at: string | null;
  scim_user_count: number | string;
  scim_group_count: number | string;
  kind?: string;
  pull_settings?: string | null;
  pull_secret_sealed?: string | null;
}

export interface DirectoryTokenRow {
  id: string;
  directory_id: string;
  token_hash: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
}

export const findDirectory = (db: Executor, id: string) => db<DirectoryRow>('directories').where({ id }).first();

export const findDirectoryByConnection = (db: Executor, connectionId: string) =>
  db<DirectoryRow>('directories').where({ connection_id: connectionId }).first();

export function listDirectories(db: Executor, take: number, afterId?: string): Promise<DirectoryRow[]> {
  const q = db<DirectoryRow>('directories').orderBy('id').limit(take);
  if (afterId) q.where('id', '>', afterId);
  return q;
}

export async function insertDirectory(db: Executor, row: Omit<DirectoryRow, 'scim_user_count' | 'scim_group_count' | 'kind' | 'pull_settings' | 'pull_secret_sealed'>): Promise<void> {
  await db('directories').insert(row);
}

export async function insertToken(db: Executor, row: DirectoryTokenRow): Promise<void> {
  await db('directory_tokens').insert(row);
}

export const findTokenByHash = (db: Executor, tokenHash: string) =>
  db<DirectoryTokenRow>('directory_tokens').where({ token_hash: tokenHash }).first();

/** Tokens that still work at `now` (no expiry, or expiry in the future). */
export function liveTokens(db: Executor, directoryId: string, now: string): Promise<DirectoryTokenRow[]> {
  return db<DirectoryTokenRow>('directory_tokens')
    .where({ directory_id: directoryId })
    .where((w) => w.whereNull('expires_at').orWhere('expires_at', '>', now))
    .orderBy('created_at');
}

/** Ends the live tokens of a directory at `expiresAt` (a grace period after rotation), never extending one. */
export async function expireTokens(db: Executor, directoryId: string, now: string, expiresAt: string): Promise<string[]> {
  const live = await liveTokens(db, directoryId, now);
  const ids = live.filter((t) => t.expires_at === null || t.expires_at > expiresAt).map((t) => t.id);
  if (ids.length) await db('directory_tokens').where({ directory_id: directoryId }).whereIn('id', ids).update({ expires_at: expiresAt });
  return live.map((t) => t.token_hash);
}

export async function touchDirectory(db: Executor, id: string, at: string): Promise<void> {
  await db('directories').where({ id }).update({ last_activity_at: at });
}

export const connectionExists = async (db: Executor, id: string): Promise<boolean> =>
  !!(await db('connections').where({ id }).first('id'));

export async function directoryNames(db: Executor, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db('directories').whereIn('id', ids.slice(0, 500)).select<{ id: string; name: string }[]>('id', 'name');
  return new Map(rows.map((r) => [r.id, r.name] as const));
}

/**
 * SQL for a directory's kept count of SCIM users or groups, as column "n"; one binding, the directory
 * id. PostgreSQL adds the count slots its triggers write (migration 301) to the column.
 */
export function keptCountSql(dialect: 'sqlite' | 'pg', kind: 'user' | 'group'): string {
  const column = kind === 'user' ? 'scim_user_count' : 'scim_group_count';
  if (dialect === 'sqlite') return `SELECT "${column}" AS "n" FROM "directories" WHERE "id" = ?`;
  return `SELECT d."${column}" + COALESCE((SELECT sum(c."n") FROM "directory_resource_counts" c WHERE c."directory_id" = d."id" AND c."kind" = '${kind}'), 0) AS "n" FROM "directories" d WHERE d."id" = ?`;
}

/** A directory's SCIM user and group counts. */
export async function resourceCounts(db: Executor, row: DirectoryRow): Promise<{ users: number; groups: number }> {
  const counts = { users: Number(row.scim_user_count), groups: Number(row.scim_group_count) };
  if (dialectOf(db) !== 'pg') return counts;
  const slots = await db('directory_resource_counts').where({ directory_id: row.id }).groupBy('kind').select<Array<{ kind: string; n: number | string }>>('kind', db.raw('sum("n") AS "n"'));
  for (const s of slots) counts[s.kind === 'user' ? 'users' : 'groups'] += Number(s.n);
  return counts;
}
