import type { Executor } from '../../platform/db.js';

export interface ScimGroupRow {
  id: string;
  directory_id: string;
  display_name: string;
  display_name_lower: string;
  external_id: string | null;
  data: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export const GROUP_VIEW_COLUMNS = ['id', 'data', 'display_name', 'external_id', 'version', 'created_at', 'updated_at'] as const;
export type GroupViewRow = Pick<ScimGroupRow, (typeof GROUP_VIEW_COLUMNS)[number]>;

export interface MemberRef {
  scimUserId: string;
  userId: string | null;
}

/**
 * Lookups bind up to 1,000 ids (SQLite allows 32,766 bound values); multi-row inserts stay at 500
 * rows, because knex writes them for SQLite as a compound SELECT, which SQLite caps at 500 terms.
 */
const chunks = <T>(items: T[], size = 1000): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

export const findScimGroup = (db: Executor, directoryId: string, id: string) =>
  db<ScimGroupRow>('scim_groups').where({ directory_id: directoryId, id }).first();

export async function insertScimGroup(db: Executor, row: ScimGroupRow): Promise<void> {
  await db('scim_groups').insert(row);
}

export async function updateScimGroup(db: Executor, row: ScimGroupRow, expectedVersion: number): Promise<boolean> {
  const { id, directory_id, created_at: _c, ...fields } = row;
  return (await db('scim_groups').where({ directory_id, id, version: expectedVersion }).update(fields)) > 0;
}

/** Member changes touch only the group's version and timestamp, never its data. */
export async function bumpGroup(db: Executor, directoryId: string, id: string, expectedVersion: number, at: string): Promise<boolean> {
  return (await db('scim_groups').where({ directory_id: directoryId, id, version: expectedVersion }).update({ version: expectedVersion + 1, updated_at: at })) > 0;
}

export async function deleteScimGroup(db: Executor, directoryId: string, id: string): Promise<void> {
  await db('scim_groups').where({ directory_id: directoryId, id }).delete();
}

/** Which of `ids` are users of this directory, with their linked global users. */
export async function existingUsers(db: Executor, directoryId: string, ids: string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const part of chunks(ids)) {
    const rows = await db('scim_users').where({ directory_id: directoryId }).whereIn('id', part).select<Array<{ id: string; user_id: string | null }>>('id', 'user_id');
    for (const r of rows) out.set(r.id, r.user_id);
  }
  return out;
}

/**
 * For member candidates: which are users of this directory (with their global user) and which are
 * already members, in one query per chunk (cost follows `ids`, not the group's size).
 */
export async function memberCandidates(db: Executor, directoryId: string, groupId: string, ids: string[]): Promise<Map<string, { userId: string | null; member: boolean }>> {
  const out = new Map<string, { userId: string | null; member: boolean }>();
  for (const part of chunks(ids)) {
    const rows = await db('scim_users as u')
      .leftJoin('scim_group_members as m', (j) => j.on('m.scim_user_id', '=', 'u.id').andOn('m.group_id', '=', db.raw('?', [groupId])))
      .where('u.directory_id', directoryId)
      .whereIn('u.id', part)
      .select<Array<{ id: string; user_id: string | null; member_id: string | null }>>('u.id', 'u.user_id', 'm.scim_user_id as member_id');
    for (const r of rows) out.set(r.id, { userId: r.user_id, member: r.member_id !== null });
  }
  return out;
}

/** Which of `ids` are already members of the group (cost follows `ids`, not the group's size). */
export async function existingMembers(db: Executor, groupId: string, ids: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const part of chunks(ids)) {
    const rows = await db('scim_group_members').where({ group_id: groupId }).whereIn('scim_user_id', part).select<Array<{ scim_user_id: string }>>('scim_user_id');
    for (const r of rows) out.add(r.scim_user_id);
  }
  return out;
}

export async function insertMembers(db: Executor, directoryId: string, groupId: string, ids: string[], at: string): Promise<void> {
  for (const part of chunks(ids, 500)) {
    await db('scim_group_members').insert(part.map((id) => ({ group_id: groupId, scim_user_id: id, directory_id: directoryId, added_at: at })));
  }
}

export async function deleteMembers(db: Executor, groupId: string, ids: string[]): Promise<void> {
  for (const part of chunks(ids)) await db('scim_group_members').where({ group_id: groupId }).whereIn('scim_user_id', part).delete();
}

/** Every member with its linked global user: only for whole-group operations (replace, delete). */
export function allMembers(db: Executor, groupId: string): Promise<Array<{ scim_user_id: string; user_id: string | null }>> {
  return db('scim_group_members as m')
    .join('scim_users as u', 'u.id', 'm.scim_user_id')
    .where('m.group_id', groupId)
    .select('m.scim_user_id', 'u.user_id');
}

/** Members of a page of groups, with display names, in one query. */
export async function membersOfGroups(db: Executor, directoryId: string, groupIds: string[]): Promise<Map<string, Array<{ value: string; display: string | null }>>> {
  const out = new Map<string, Array<{ value: string; display: string | null }>>();
  if (groupIds.length === 0) return out;
  const rows = await db('scim_group_members as m')
    .join('scim_users as u', 'u.id', 'm.scim_user_id')
    .where('m.directory_id', directoryId)
    .whereIn('m.group_id', groupIds)
    .select<Array<{ group_id: string; value: string; user_name: string; data: string }>>('m.group_id', 'm.scim_user_id as value', 'u.user_name')
    .orderBy(['m.group_id', 'm.added_at', 'm.scim_user_id']);
  for (const r of rows) {
    const list = out.get(r.group_id) ?? [];
    list.push({ value: r.value, display: r.user_name });
    out.set(r.group_id, list);
  }
  return out;
}
