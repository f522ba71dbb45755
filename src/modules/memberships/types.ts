export type Role = 'owner' | 'admin' | 'member';
export const ROLES: readonly Role[] = ['owner', 'admin', 'member'];
export const roleRank: Record<Role, number> = { owner: 3, admin: 2, member: 1 };
export const higherRole = (a: Role, b: Role): Role => (roleRank[a] >= roleRank[b] ? a : b);

export type MembershipSource = 'sso' | 'scim' | 'manual';
export type MembershipStatus = 'active' | 'flagged';
export type FlagReason = 'idp_deactivated' | 'idp_deleted' | 'idp_group_removed' | 'not_in_directory' | 'login_lost_grant';
export type SkipReason = 'membership_limit' | 'removed_by_admin';

/** What the IdP did, when, through which channel: shown next to every flag. */
export interface FlagEvidence {
  channel: 'scim' | 'login' | 'reconcile';
  action: string;
  at: string;
  [detail: string]: unknown;
}

export interface Membership {
  organization_id: string;
  user_id: string;
  role: Role;
  source: MembershipSource;
  status: MembershipStatus;
  flagged_reason: FlagReason | null;
  flagged_at: string | null;
  flag_evidence: FlagEvidence | null;
  joined_at: string;
  last_synced_at: string | null;
}
