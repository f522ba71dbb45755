import type { Knex } from 'knex';
import type { Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { FlagEvidence, FlagReason, MembershipStatus, Role } from '../memberships/types.js';
import { flaggedOnly } from '../memberships/queries.js';

export interface OrgCounts {
  active: number;
  flagged: number;
  by_reason: Partial<Record<FlagReason, number>>;
}

const emptyCounts = (): OrgCounts => ({ active: 0, flagged: 0, by_reason: {} });

/**
 * Counts by SQL aggregation over the (organization_id, status, user_id) index: no member rows
 * leave the database. Pass no ids to count every organization.
 */
export async function countsByOrganization(db: Executor, organizationIds?: string[]): Promise<Map<string, OrgCounts>> {
  const result = new Map<string, OrgCounts>();
  const get = (id: string) => {
    let c = result.get(id);
    if (!c) result.set(id, (c = emptyCounts()));
    return c;
  };
  const scope = (q: Knex.QueryBuilder): Knex.QueryBuilder => (organizationIds ? q.whereIn('organization_id', organizationIds) : q);
  const statuses = await scope(db('memberships'))
    .groupBy('organization_id', 'status')
    .select<Array<{ organization_id: string; status: MembershipStatus; n: number | string }>>('organization_id', 'status', db.raw('count(*) as n'));
  for (const r of statuses) get(r.organization_id)[r.status] = Number(r.n);
  const reasons = await scope(db('memberships'))
    .where('status', 'flagged')
    .groupBy('organization_id', 'flagged_reason')
    .select<Array<{ organization_id: string; flagged_reason: FlagReason; n: number | string }>>('organization_id', 'flagged_reason', db.raw('count(*) as n'));
  for (const r of reasons) get(r.organization_id).by_reason[r.flagged_reason] = Number(r.n);
  if (organizationIds) for (const id of organizationIds) get(id);
  return result;
}

export interface ReportOrganization {
  id: string;
  name: string;
  connection_id: string | null;
  connection_name: string | null;
  connection_type: string | null;
  last_scim_activity_at: string | null;
  directory_kind: 'scim' | 'google_workspace' | 'microsoft_graph' | null;
  last_pull_at: string | null;
  last_pull_success_at: string | null;
}

function organizationsQuery(db: Executor) {
  return db('organizations as o')
    .leftJoin('connections as c', 'c.id', 'o.connection_id')
    .leftJoin('directories as d', 'd.connection_id', 'o.connection_id')
    .leftJoin('directory_pull_state as ps', 'ps.directory_id', 'd.id')
    .select<ReportOrganization[]>(
      'o.id',
      'o.name',
      'o.connection_id',
      'c.name as connection_name',
      'c.type as connection_type',
      'd.last_activity_at as last_scim_activity_at',
      'd.kind as directory_kind',
      'ps.last_run_at as last_pull_at',
      'ps.last_success_at as last_pull_success_at',
    );
}

export const reportOrganization = (db: Executor, id: string) => organizationsQuery(db).where('o.id', id).first<ReportOrganization | undefined>();

/** Organizations by name, a keyset page at a time. */
export function reportOrganizations(db: Executor, afterName: string | undefined, take: number): Promise<ReportOrganization[]> {
  const q = organizationsQuery(db).orderBy('o.name').limit(take);
  if (afterName !== undefined) q.where('o.name', '>', afterName);
  return q;
}

/** When login sync last touched the organization: newest login run through the run index. */
export async function lastLoginSyncAt(db: Executor, organizationId: string): Promise<string | null> {
  const row = await db('sync_run_organizations as l')
    .join('sync_runs as r', 'r.id', 'l.sync_run_id')
    .where({ 'l.organization_id': organizationId, 'r.trigger': 'login' })
    .orderBy('l.sync_run_id', 'desc')
    .first<{ at: string } | undefined>('r.at');
  return row?.at ?? null;
}

export interface ReportRow {
  user_id: string;
  email: string;
  name: string | null;
  role: Role;
  status: MembershipStatus;
  reason: FlagReason | null;
  flagged_at: string | null;
  evidence: FlagEvidence | null;
}

type RawReportRow = Omit<ReportRow, 'evidence'> & { evidence: string | null };

const COLUMNS = ['m.user_id', 'u.email', 'u.name', 'm.role', 'm.status', 'm.flagged_reason as reason', 'm.flagged_at', 'm.flag_evidence as evidence'];

export type RowFilter = MembershipStatus | 'all';

/** One keyset page of an organization's members, ordered by user id (index order). */
export async function reportRows(db: Executor, organizationId: string, status: RowFilter, afterUserId: string | undefined, take: number): Promise<ReportRow[]> {
  const q = db('memberships as m')
    .join('users as u', 'u.id', 'm.user_id')
    .where('m.organization_id', organizationId)
    .orderBy('m.user_id')
    .limit(take)
    .select<RawReportRow[]>(COLUMNS);
  if (status !== 'all') q.where('m.status', status);
  if (afterUserId) q.where('m.user_id', '>', afterUserId);
  return (await q).map((r) => ({ ...r, evidence: parseJson<FlagEvidence | null>(r.evidence, null) }));
}

/**
 * Newest flags first, for the JSON report (capped by the caller). `status = 'flagged'` is written
 * into the SQL, not bound: the flagged-at index is partial on it (migration 306).
 */
export const newestFlaggedQuery = (db: Executor, organizationId: string, take: number) =>
  db('memberships as m')
    .join('users as u', 'u.id', 'm.user_id')
    .where('m.organization_id', organizationId)
    .whereRaw(flaggedOnly('m'))
    .orderBy([{ column: 'm.flagged_at', order: 'desc' }, { column: 'm.user_id', order: 'asc' }])
    .limit(take)
    .select<RawReportRow[]>(COLUMNS);

export async function newestFlagged(db: Executor, organizationId: string, take: number): Promise<ReportRow[]> {
  const rows = await newestFlaggedQuery(db, organizationId, take);
  return rows.map((r) => ({ ...r, evidence: parseJson<FlagEvidence | null>(r.evidence, null) }));
}
