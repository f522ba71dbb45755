import type { Executor } from '../../platform/db.js';
import type { UserRow } from '../users/queries.js';

export interface IdentityRow {
  id: string;
  user_id: string;
  connection_id: string;
  subject: string;
  external_id: string | null;
}

export const findIdentity = (db: Executor, connectionId: string, subject: string) =>
  db<IdentityRow>('identities').where({ connection_id: connectionId, subject }).first();

export const findUser = (db: Executor, id: string) => db<UserRow>('users').where({ id }).first();

export interface ScimMatch {
  id: string;
  user_id: string | null;
}

/**
 * The SCIM user of this directory that is the same person as the login: by externalId equal to
 * the login's external id, else by userName or primary email equal to the login email.
 */
export async function findScimUser(db: Executor, directoryId: string, externalId: string, email: string | null): Promise<ScimMatch | undefined> {
  const byExternal = await db('scim_users').where({ directory_id: directoryId, external_id: externalId }).first<ScimMatch | undefined>('id', 'user_id');
  if (byExternal || !email) return byExternal;
  const lower = email.toLowerCase();
  return db('scim_users')
    .where({ directory_id: directoryId })
    .where((q) => q.where({ user_name_lower: lower }).orWhere({ primary_email_lower: lower }))
    .orderBy('created_at')
    .first<ScimMatch | undefined>('id', 'user_id');
}

export async function linkScimUser(db: Executor, scimUserId: string, userId: string): Promise<void> {
  await db('scim_users').where({ id: scimUserId }).whereNull('user_id').update({ user_id: userId });
}
