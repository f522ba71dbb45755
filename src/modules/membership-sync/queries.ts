import type { Executor } from '../../platform/db.js';
import { toBool } from '../../platform/db.js';

/** The directory (SCIM endpoint) of a connection, if it has one. */
export async function directoryOfConnection(db: Executor, connectionId: string): Promise<string | null> {
  const row = await db('directories').where({ connection_id: connectionId }).first<{ id: string } | undefined>('id');
  return row?.id ?? null;
}

/** Display names and external ids of the SCIM groups the user is in, in one directory. */
export async function scimGroupsOfUser(db: Executor, directoryId: string, userId: string): Promise<string[]> {
  const rows = await db('scim_group_members as gm')
    .join('scim_users as u', 'u.id', 'gm.scim_user_id')
    .join('scim_groups as g', 'g.id', 'gm.group_id')
    .where({ 'u.directory_id': directoryId, 'u.user_id': userId, 'g.directory_id': directoryId })
    .select<{ display_name: string; external_id: string | null }[]>('g.display_name', 'g.external_id');
  return rows.flatMap((r) => (r.external_id ? [r.display_name, r.external_id] : [r.display_name]));
}

/** Whether the directory deactivated or deleted the user: such a user may not sign in. */
export async function directoryDenies(db: Executor, directoryId: string, userId: string): Promise<'deactivated' | 'deleted' | null> {
  const rows = await db('scim_users').where({ directory_id: directoryId, user_id: userId }).select<{ active: unknown }[]>('active');
  // An active resource wins over an old tombstone: the IdP re-created the user.
  if (rows.some((r) => toBool(r.active))) return null;
  if (rows.length > 0) return 'deactivated';
  const tomb = await db('scim_user_tombstones').where({ directory_id: directoryId, user_id: userId }).first('user_id');
  if (tomb) return 'deleted';
  return null;
}
