import type { Executor } from '../../platform/db.js';
import { parseJson, toBool } from '../../platform/db.js';

export interface UserRow {
  id: string;
  email: string;
  email_lower: string;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  active: boolean | number;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
  bound_connection_id?: string | null;
}

export interface User {
  id: string;
  email: string;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  active: boolean;
  created_at: string;
  last_login_at: string | null;
  /** Whether the email was set by the connection that verified its domain (SPEC §2). */
  email_verified: boolean;
  /** Set when the email is only this connection's claim: the account belongs to it alone. */
  bound_connection_id: string | null;
}

export const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  name: r.name,
  given_name: r.given_name,
  family_name: r.family_name,
  active: toBool(r.active),
  created_at: r.created_at,
  last_login_at: r.last_login_at,
  email_verified: !r.bound_connection_id,
  bound_connection_id: r.bound_connection_id ?? null,
});

export const findUserById = (db: Executor, id: string) => db<UserRow>('users').where({ id }).first();

export function listUsers(db: Executor, f: { email?: string; afterId?: string; take: number }): Promise<UserRow[]> {
  const q = db<UserRow>('users').orderBy('id').limit(f.take);
  if (f.email) q.where('email_lower', f.email.toLowerCase());
  if (f.afterId) q.where('id', '>', f.afterId);
  return q;
}

/**
 * The account with this email among members (any status) of the given organizations: what an
 * organization admin may resolve. Accounts elsewhere on the instance stay invisible, so "not here"
 * looks the same whether or not the email has an account in another organization.
 */
export function findUserByEmailAmongMembers(db: Executor, email: string, organizationIds: readonly string[]): Promise<UserRow | undefined> {
  if (organizationIds.length === 0) return Promise.resolve(undefined);
  return db<UserRow>('users as u')
    .join('memberships as m', 'm.user_id', 'u.id')
    .where('u.email_lower', email.toLowerCase())
    .whereIn('m.organization_id', [...organizationIds])
    .orderBy('u.id')
    .first<UserRow | undefined>('u.*');
}

export async function insertUser(db: Executor, row: UserRow): Promise<void> {
  await db('users').insert(row);
}

export interface IdentityView {
  connection_id: string;
  subject: string;
  created_at: string;
  last_login_at: string | null;
}

export function identitiesOf(db: Executor, userId: string): Promise<IdentityView[]> {
  return db('identities').where({ user_id: userId }).select('connection_id', 'subject', 'created_at', 'last_login_at').orderBy('created_at');
}

export interface MembershipView {
  organization_id: string;
  organization_name: string;
  role: string;
  source: string;
  status: string;
  flagged_reason: string | null;
  flagged_at: string | null;
  flag_evidence: unknown;
  joined_at: string;
}

export async function membershipsOf(db: Executor, userId: string): Promise<MembershipView[]> {
  const rows = await db('memberships as m')
    .join('organizations as o', 'o.id', 'm.organization_id')
    .where('m.user_id', userId)
    .orderBy('o.name')
    .select('m.organization_id', 'o.name as organization_name', 'm.role', 'm.source', 'm.status', 'm.flagged_reason', 'm.flagged_at', 'm.flag_evidence', 'm.joined_at');
  return rows.map((r: MembershipView & { flag_evidence: string | null }) => ({ ...r, flag_evidence: parseJson(r.flag_evidence, null) }));
}

/** Names and emails of users by id (chunked: SQLite caps bound parameters). */
export async function userLabels(db: Executor, ids: string[]): Promise<Map<string, { name: string | null; email: string }>> {
  const out = new Map<string, { name: string | null; email: string }>();
  for (let i = 0; i < ids.length; i += 500) {
    for (const r of await db<UserRow>('users').whereIn('id', ids.slice(i, i + 500)).select('id', 'name', 'email')) out.set(r.id, { name: r.name, email: r.email });
  }
  return out;
}
