import type { Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { FlagEvidence, FlagReason, MembershipSource, MembershipStatus, Role } from '../memberships/types.js';

export type StatusFilter = MembershipStatus | 'all';

/** SPEC §5 member. */
export interface Member {
  user_id: string;
  email: string;
  name: string | null;
  role: Role;
  status: MembershipStatus;
  source: MembershipSource;
  flagged_reason: FlagReason | null;
  flagged_at: string | null;
  flag_evidence: FlagEvidence | null;
  joined_at: string;
  last_login_at: string | null;
}

type MemberRow = Omit<Member, 'flag_evidence'> & { flag_evidence: string | null };

const toMember = (r: MemberRow): Member => ({ ...r, flag_evidence: parseJson<FlagEvidence | null>(r.flag_evidence, null) });

const COLUMNS = [
  'm.user_id',
  'u.email',
  'u.name',
  'm.role',
  'm.status',
  'm.source',
  'm.flagged_reason',
  'm.flagged_at',
  'm.flag_evidence',
  'm.joined_at',
  'u.last_login_at',
];

/** Keyset page by user id: served by the (organization_id, status, user_id) index or the primary key. */
export async function listMembers(db: Executor, organizationId: string, f: { status: StatusFilter; afterUserId?: string; take: number }): Promise<Member[]> {
  const q = db('memberships as m')
    .join('users as u', 'u.id', 'm.user_id')
    .where('m.organization_id', organizationId)
    .orderBy('m.user_id')
    .limit(f.take)
    .select<MemberRow[]>(COLUMNS);
  if (f.status !== 'all') q.where('m.status', f.status);
  if (f.afterUserId) q.where('m.user_id', '>', f.afterUserId);
  return (await q).map(toMember);
}

export async function findMember(db: Executor, organizationId: string, userId: string): Promise<Member | undefined> {
  const row = await db('memberships as m')
    .join('users as u', 'u.id', 'm.user_id')
    .where({ 'm.organization_id': organizationId, 'm.user_id': userId })
    .first<MemberRow | undefined>(COLUMNS);
  return row ? toMember(row) : undefined;
}

export interface MembershipBrief {
  user_id: string;
  role: Role;
  status: MembershipStatus;
  source: MembershipSource;
  flagged_reason: FlagReason | null;
}

/** The memberships among `userIds` (chunked: SQLite caps bound parameters). */
export async function membershipsAmong(db: Executor, organizationId: string, userIds: string[]): Promise<MembershipBrief[]> {
  const out: MembershipBrief[] = [];
  for (let i = 0; i < userIds.length; i += 500) {
    out.push(
      ...(await db('memberships')
        .where('organization_id', organizationId)
        .whereIn('user_id', userIds.slice(i, i + 500))
        .select<MembershipBrief[]>('user_id', 'role', 'status', 'source', 'flagged_reason')),
    );
  }
  return out;
}

/** Flagged memberships of an organization, a keyset page at a time. */
export function flaggedPage(db: Executor, organizationId: string, afterUserId: string | undefined, take: number): Promise<MembershipBrief[]> {
  const q = db('memberships')
    .where({ organization_id: organizationId, status: 'flagged' })
    .orderBy('user_id')
    .limit(take)
    .select<MembershipBrief[]>('user_id', 'role', 'status', 'source', 'flagged_reason');
  if (afterUserId) q.where('user_id', '>', afterUserId);
  return q;
}

export async function existingUserIds(db: Executor, userIds: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < userIds.length; i += 500) {
    for (const id of await db('users').whereIn('id', userIds.slice(i, i + 500)).pluck('id')) found.add(String(id));
  }
  return found;
}

/** Membership counts per user, for the per-user organization limit. */
export async function membershipCounts(db: Executor, userIds: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < userIds.length; i += 500) {
    const rows = await db('memberships')
      .whereIn('user_id', userIds.slice(i, i + 500))
      .groupBy('user_id')
      .select<Array<{ user_id: string; n: number | string }>>('user_id', db.raw('count(*) as n'));
    for (const r of rows) counts.set(r.user_id, Number(r.n));
  }
  return counts;
}
