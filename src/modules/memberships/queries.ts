import type { Executor } from '../../platform/db.js';
import { parseJson, selectRows } from '../../platform/db.js';
import type { FlagEvidence, FlagReason, Membership, MembershipSource, Role } from './types.js';

interface MembershipRow extends Omit<Membership, 'flag_evidence'> {
  flag_evidence: string | null;
}

const toMembership = (r: MembershipRow): Membership => ({ ...r, flag_evidence: parseJson<FlagEvidence | null>(r.flag_evidence, null) });

/**
 * The condition of the partial flagged-at index (migration 306), for a reader to write into its SQL
 * as a literal: a bound status cannot prove it (SQLite, and PostgreSQL's generic plans).
 */
export const flaggedOnly = (table = 'memberships'): string => `"${table}"."status" = 'flagged'`;

export async function findMembership(db: Executor, organizationId: string, userId: string): Promise<Membership | undefined> {
  const row = await db<MembershipRow>('memberships').where({ organization_id: organizationId, user_id: userId }).first();
  return row ? toMembership(row) : undefined;
}

/** All of a user's memberships (at most MAX_ORGANIZATIONS_PER_USER rows). */
export async function membershipsOfUser(db: Executor, userId: string): Promise<Membership[]> {
  return (await db<MembershipRow>('memberships').where({ user_id: userId })).map(toMembership);
}

/** A user's memberships in the organizations a connection governs. */
export async function governedMembershipsOfUser(db: Executor, userId: string, connectionId: string): Promise<Membership[]> {
  const rows = await db('memberships as m')
    .join('organizations as o', 'o.id', 'm.organization_id')
    .where({ 'm.user_id': userId, 'o.connection_id': connectionId })
    .select<MembershipRow[]>('m.*');
  return rows.map(toMembership);
}

export async function countMembershipsOfUser(db: Executor, userId: string): Promise<number> {
  const r = await db('memberships').where({ user_id: userId }).count<{ n: number | string }[]>({ n: '*' });
  return Number(r[0]?.n ?? 0);
}

export async function insertMembership(
  db: Executor,
  m: { organization_id: string; user_id: string; role: Role; source: MembershipSource; at: string },
): Promise<void> {
  await db('memberships').insert({
    organization_id: m.organization_id,
    user_id: m.user_id,
    role: m.role,
    source: m.source,
    status: 'active',
    joined_at: m.at,
    last_synced_at: m.at,
  });
}

export async function setRole(db: Executor, organizationId: string, userId: string, role: Role, at: string): Promise<void> {
  await db('memberships').where({ organization_id: organizationId, user_id: userId }).update({ role, last_synced_at: at });
}

export async function flagMemberships(
  db: Executor,
  userId: string,
  organizationIds: string[],
  reason: FlagReason,
  evidence: FlagEvidence,
  at: string,
): Promise<void> {
  if (organizationIds.length === 0) return;
  await db('memberships')
    .where({ user_id: userId, status: 'active' })
    .whereIn('organization_id', organizationIds)
    .update({ status: 'flagged', flagged_reason: reason, flagged_at: at, flag_evidence: JSON.stringify(evidence), last_synced_at: at });
}

export async function deleteMemberships(db: Executor, organizationId: string, userIds: string[]): Promise<number> {
  if (userIds.length === 0) return 0;
  return db('memberships').where({ organization_id: organizationId }).whereIn('user_id', userIds).delete();
}

// Removal records ("removals stick")

export async function removalRecordsOfUser(db: Executor, userId: string): Promise<Set<string>> {
  const rows = await selectRows<{ organization_id: string }>(db, 'SELECT "organization_id" FROM "removal_records" WHERE "user_id" = ?', [userId]);
  return new Set(rows.map((r) => r.organization_id));
}

export async function insertRemovalRecords(db: Executor, organizationId: string, userIds: string[], removedBy: unknown, at: string): Promise<void> {
  for (let i = 0; i < userIds.length; i += 200) {
    await db('removal_records')
      .insert(userIds.slice(i, i + 200).map((user_id) => ({ organization_id: organizationId, user_id, removed_at: at, removed_by: JSON.stringify(removedBy) })))
      .onConflict(['organization_id', 'user_id'])
      .merge(['removed_at', 'removed_by']);
  }
}

/** Clears removal records; pass no organization ids to clear all of a user's (an IdP re-grant). */
export async function clearRemovalRecords(db: Executor, userId: string, organizationIds?: string[]): Promise<number> {
  const q = db('removal_records').where({ user_id: userId });
  if (organizationIds) {
    if (organizationIds.length === 0) return 0;
    q.whereIn('organization_id', organizationIds);
  }
  return q.delete();
}
