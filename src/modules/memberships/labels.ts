import type { FlagReason, Role, SkipReason } from './types.js';

/** What each flag reason means, in words an admin or the member reads on a page. */
export const FLAG_REASON_LABELS: Record<FlagReason, string> = {
  idp_deactivated: 'Deactivated in the IdP',
  idp_deleted: 'Deleted in the IdP',
  idp_group_removed: 'Removed from the granting group',
  not_in_directory: 'Not in the directory',
  login_lost_grant: 'Lost the grant at login',
};

export const SKIP_REASON_LABELS: Record<SkipReason, string> = {
  membership_limit: 'the membership limit is reached',
  removed_by_admin: 'an administrator removed this membership',
};

export const ROLE_LABELS: Record<Role, string> = { owner: 'Owner', admin: 'Admin', member: 'Member' };

export const flagReasonLabel = (reason: string): string => FLAG_REASON_LABELS[reason as FlagReason] ?? reason;
export const roleLabel = (role: string): string => ROLE_LABELS[role as Role] ?? role;

/** "1 flagged member", "3 flagged members". */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
