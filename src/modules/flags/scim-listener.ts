import type { Trx } from '../../platform/db.js';
import type { IdGenerator } from '../../platform/ids.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import type { FlagEvidence, FlagReason } from '../memberships/types.js';
import { governedMembershipsOfUser } from '../memberships/queries.js';
import type { ScimGroupMembershipChange, ScimLifecycleListener, ScimUserChange } from '../scim/lifecycle.js';
import { emptyRun, insertSyncRuns, type SyncRun } from '../reports/sync-runs.js';
import { groupsOfScimUsers, grantedOrganizations, organizationsGrantedByGroup, rulesOfConnection } from './grants.js';
import type { FlagWriter, MembershipKey } from './writer.js';
import { clearRemovalRecords } from './removal-records.js';
import { revokeUserSessions } from '../sessions/queries.js';
import { hasAuthority } from '../users/account-trust.js';

const ALL_FLAG_REASONS: FlagReason[] = ['idp_deactivated', 'idp_deleted', 'idp_group_removed', 'not_in_directory', 'login_lost_grant'];
/** Flags that a reactivation or re-creation answers: the user is back in the directory. */
const RESTORED_BY_REACTIVATION: FlagReason[] = ['idp_deactivated', 'idp_deleted', 'not_in_directory'];
/** Flags that a group grant answers: the user is granted the organization again. */
const RESTORED_BY_GRANT: FlagReason[] = ['idp_group_removed', 'login_lost_grant'];

const scimActor = (directoryId: string): Actor => ({ type: 'scim', id: directoryId });

/**
 * The login-sync rule engine, for connections with `membership_sync: scim_and_login`: SCIM grants
 * (provisioning, reactivation, group adds) are applied at once instead of at the next login.
 */
export interface GrantApplier {
  /**
   * For a connection that applies SCIM grants immediately, a function that adds, restores and
   * re-roles what the rules grant one user (it never flags); null for `on_login` connections.
   * `membershipSync`: the connection's mode when the caller read it in this transaction.
   */
  forConnection(trx: Trx, connectionId: string, membershipSync?: string): Promise<((userId: string, actor: Actor, pullRunId?: string) => Promise<void>) | null>;
}

/**
 * Applies SCIM changes to memberships of organizations the directory's connection governs, inside
 * the SCIM write's transaction: flags on deactivation, deletion and lost group grants; restores on
 * reactivation, re-creation and re-grants. Organizations the connection does not govern are never touched.
 */
export class ScimFlagListener implements ScimLifecycleListener {
  constructor(
    private readonly writer: FlagWriter,
    private readonly audit: AuditService,
    private readonly ids: IdGenerator,
    private readonly grants?: GrantApplier,
  ) {}

  userDeactivated(trx: Trx, change: ScimUserChange): Promise<void> {
    return this.flagUser(trx, change, 'idp_deactivated', []);
  }

  /** Deletion outranks earlier flags: they are re-flagged `idp_deleted` with the new evidence. */
  userDeleted(trx: Trx, change: ScimUserChange): Promise<void> {
    return this.flagUser(trx, change, 'idp_deleted', ALL_FLAG_REASONS.filter((r) => r !== 'idp_deleted'));
  }

  userReactivated(trx: Trx, change: ScimUserChange): Promise<void> {
    return this.restoreUser(trx, change);
  }

  userProvisioned(trx: Trx, change: ScimUserChange): Promise<void> {
    return this.restoreUser(trx, change);
  }

  groupMembersRemoved(trx: Trx, change: ScimGroupMembershipChange): Promise<void> {
    return this.groupLost(trx, change);
  }

  groupDeleted(trx: Trx, change: ScimGroupMembershipChange): Promise<void> {
    return this.groupLost(trx, change);
  }

  async groupMembersAdded(trx: Trx, change: ScimGroupMembershipChange): Promise<void> {
    const rules = await rulesOfConnection(trx, change.connectionId);
    const orgs = [...organizationsGrantedByGroup(rules, { displayName: change.groupDisplayName, externalId: change.groupExternalId })];
    const userIds = [...new Set(change.members.flatMap((m) => (m.userId ? [m.userId] : [])))];
    if (orgs.length === 0 || userIds.length === 0) return;
    const keys = orgs.flatMap((organizationId) => userIds.map((userId) => ({ organizationId, userId })));
    const actor = scimActor(change.directoryId);
    const restored = await this.writer.restore(trx, keys, change.at, actor, this.evidence(change), RESTORED_BY_GRANT);
    const cleared = await clearRemovalRecords(trx, this.audit, keys, actor, this.evidence(change));
    await this.writeRuns(trx, change, { restored, cleared });
    await this.applyGrants(trx, change, userIds, actor);
  }

  private async applyGrants(trx: Trx, change: ScimUserChange | ScimGroupMembershipChange, userIds: string[], actor: Actor): Promise<void> {
    if (!this.grants || userIds.length === 0) return;
    const apply = await this.grants.forConnection(trx, change.connectionId, 'membershipSync' in change ? change.membershipSync : undefined);
    if (apply) for (const userId of userIds) await apply(userId, actor, change.pullRunId);
  }

  private evidence(change: ScimUserChange | ScimGroupMembershipChange): FlagEvidence {
    const base: FlagEvidence = { channel: 'scim', action: change.action, at: change.at, directory_id: change.directoryId, ...(change.pullRunId ? { pull_run_id: change.pullRunId } : {}) };
    return 'groupId' in change ? { ...base, group: change.groupDisplayName, group_id: change.groupId } : base;
  }

  private async flagUser(trx: Trx, change: ScimUserChange, reason: FlagReason, reflag: FlagReason[]): Promise<void> {
    if (!change.userId) return;
    const userId = change.userId;
    // Revoked whatever the memberships: an IdP-disabled user must not keep a live session — when
    // this connection speaks for the account; another tenant's account keeps its sessions (SPEC §2).
    if (await hasAuthority(trx, change.connectionId, userId)) await revokeUserSessions(trx, userId);
    const keys = (await governedMembershipsOfUser(trx, userId, change.connectionId)).map((m) => ({ organizationId: m.organization_id, userId }));
    const flagged = await this.writer.flag(trx, keys, reason, this.evidence(change), scimActor(change.directoryId), reflag);
    if (flagged.length === 0) return;
    const run = this.run(change, userId);
    run.flagged = flagged.map((k) => ({ organization_id: k.organizationId, reason }));
    await insertSyncRuns(trx, [run]);
  }

  private async restoreUser(trx: Trx, change: ScimUserChange): Promise<void> {
    if (!change.userId) return;
    const userId = change.userId;
    if (change.newAccount) {
      // Nothing to restore or clear on an account this write created; grants may still apply.
      await this.applyGrants(trx, change, [userId], scimActor(change.directoryId));
      return;
    }
    const keys = (await governedMembershipsOfUser(trx, userId, change.connectionId)).map((m) => ({ organizationId: m.organization_id, userId }));
    const governedOrgIds = await trx('organizations').where({ connection_id: change.connectionId }).pluck('id');
    const actor = scimActor(change.directoryId);
    const restored = await this.writer.restore(trx, keys, change.at, actor, this.evidence(change), RESTORED_BY_REACTIVATION);
    const cleared = await clearRemovalRecords(
      trx,
      this.audit,
      governedOrgIds.map((organizationId: string) => ({ organizationId, userId })),
      actor,
      this.evidence(change),
    );
    if (restored.length > 0 || cleared.length > 0) {
      const run = this.run(change, userId);
      run.restored = restored.map((k) => ({ organization_id: k.organizationId }));
      await insertSyncRuns(trx, [run]);
    }
    await this.applyGrants(trx, change, [userId], actor);
  }

  private async groupLost(trx: Trx, change: ScimGroupMembershipChange): Promise<void> {
    const rules = await rulesOfConnection(trx, change.connectionId);
    const candidates = [...organizationsGrantedByGroup(rules, { displayName: change.groupDisplayName, externalId: change.groupExternalId })];
    const members = change.members.filter((m): m is { scimUserId: string; userId: string } => m.userId !== null);
    if (candidates.length === 0 || members.length === 0) return;
    const active: MembershipKey[] = [];
    for (let i = 0; i < members.length; i += 500) {
      const rows = await trx('memberships')
        .whereIn('organization_id', candidates)
        .whereIn('user_id', members.slice(i, i + 500).map((m) => m.userId))
        .where('status', 'active')
        .select<Array<{ organization_id: string; user_id: string }>>('organization_id', 'user_id');
      active.push(...rows.map((r) => ({ organizationId: r.organization_id, userId: r.user_id })));
    }
    if (active.length === 0) return;
    const affectedUsers = new Set(active.map((k) => k.userId));
    const scimIdOf = new Map(members.filter((m) => affectedUsers.has(m.userId)).map((m) => [m.userId, m.scimUserId]));
    const remaining = await groupsOfScimUsers(trx, change.directoryId, [...scimIdOf.values()], change.groupId);
    const grantsOf = new Map([...scimIdOf].map(([userId, scimUserId]) => [userId, grantedOrganizations(rules, remaining.get(scimUserId) ?? [])]));
    const lost = active.filter((k) => !grantsOf.get(k.userId)?.has(k.organizationId));
    const flagged = await this.writer.flag(trx, lost, 'idp_group_removed', this.evidence(change), scimActor(change.directoryId));
    await this.writeRuns(trx, change, { flagged });
  }

  private async writeRuns(
    trx: Trx,
    change: ScimGroupMembershipChange,
    c: { flagged?: MembershipKey[]; restored?: MembershipKey[]; cleared?: MembershipKey[] },
  ): Promise<void> {
    const runs = new Map<string, SyncRun>();
    const runOf = (userId: string) => {
      let run = runs.get(userId);
      if (!run) runs.set(userId, (run = this.run(change, userId)));
      return run;
    };
    for (const k of c.flagged ?? []) runOf(k.userId).flagged.push({ organization_id: k.organizationId, reason: 'idp_group_removed' });
    for (const k of c.restored ?? []) runOf(k.userId).restored.push({ organization_id: k.organizationId });
    for (const k of c.cleared ?? []) runOf(k.userId);
    await insertSyncRuns(trx, [...runs.values()]);
  }

  private run(change: ScimUserChange | ScimGroupMembershipChange, userId: string): SyncRun {
    return emptyRun({ id: this.ids.uuid(), trigger: 'scim', user_id: userId, connection_id: change.connectionId, directory_id: change.directoryId, at: change.at, pull_run_id: change.pullRunId });
  }
}
