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
});

export const findUserById = (db: Executor, id: string) => db<UserRow>('users').where({ id }).first();

export function listUsers(db: Executor, f: { email?: string; afterId?: string; take: number }): Promise<UserRow[]> {
  const q = db<UserRow>('users').orderBy('id').limit(f.take);
  if (f.email) q.where('email_lower', f.email.toLowerCase());
  if (f.afterId) q.where('id', '>', f.afterId);
  return q;
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
