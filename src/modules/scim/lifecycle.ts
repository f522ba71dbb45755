import type { Trx } from '../../platform/db.js';

/**
 * What a SCIM write tells the rest of orgsync, inside the write's own transaction, so a flag (or a
 * grant) commits exactly when the IdP's change does. The SCIM module calls these; the flags module
 * implements them. Ids: `userId` is the global user linked to the SCIM user (null if none).
 */
export interface ScimUserChange {
  directoryId: string;
  connectionId: string;
  scimUserId: string;
  userId: string | null;
  /** When the IdP's request arrived. */
  at: string;
  /** What the IdP sent, for flag evidence: e.g. `PATCH active=false`, `PUT active=false`, `DELETE`. */
  action: string;
  /** The global user was created by this very write, so it has no memberships or removal records yet. */
  newAccount?: boolean;
  /** The connection's `membership_sync`, when the write already read it in its transaction. */
  membershipSync?: string;
  /** A pulled directory's change: the pull run whose page it came from (recorded on sync runs and flag evidence). */
  pullRunId?: string;
}

export interface ScimGroupMembershipChange {
  directoryId: string;
  connectionId: string;
  groupId: string;
  /** The group's displayName and externalId: membership rules match either. */
  groupDisplayName: string;
  groupExternalId: string | null;
  /** SCIM user ids whose membership changed, with their linked global user ids. */
  members: Array<{ scimUserId: string; userId: string | null }>;
  at: string;
  action: string;
  pullRunId?: string;
}

export interface ScimLifecycleListener {
  userProvisioned(trx: Trx, change: ScimUserChange): Promise<void>;
  userDeactivated(trx: Trx, change: ScimUserChange): Promise<void>;
  userReactivated(trx: Trx, change: ScimUserChange): Promise<void>;
  userDeleted(trx: Trx, change: ScimUserChange): Promise<void>;
  groupMembersAdded(trx: Trx, change: ScimGroupMembershipChange): Promise<void>;
  groupMembersRemoved(trx: Trx, change: ScimGroupMembershipChange): Promise<void>;
  /** A whole group deleted: every member lost it. */
  groupDeleted(trx: Trx, change: ScimGroupMembershipChange): Promise<void>;
}

/** Used until the flags module is wired in: SCIM works on its own, nothing is flagged. */
export const noopScimLifecycle: ScimLifecycleListener = {
  userProvisioned: async () => {},
  userDeactivated: async () => {},
  userReactivated: async () => {},
  userDeleted: async () => {},
  groupMembersAdded: async () => {},
  groupMembersRemoved: async () => {},
  groupDeleted: async () => {},
};
