import type { Db, Executor } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import type { EventService } from '../events/service.js';
import type { Connection } from '../connections/schema.js';
import * as mq from '../memberships/queries.js';
import type { FlagEvidence, FlagReason } from '../memberships/types.js';
import { applyPlan, changedSomething } from './apply.js';
import { planSync, type Change } from './plan.js';
import { desiredMemberships, groupTokens, matchGroups } from './rules.js';
import { checkGroupMatching } from './group-check.js';
import { directoryOfConnection, scimGroupsOfUser } from './queries.js';
import { insertSyncRun, type GroupLikeAttribute, type GroupsIncompleteReason, type SyncRun, type SyncTrigger } from './sync-runs.js';
import { governedOrganizationIds } from '../connections/queries.js';
import { inTransaction } from '../../platform/transaction.js';

export interface SyncUserInput {
  /** The connection with its rules (load it with `c.connections.load`). */
  connection: Connection;
  userId: string;
  /** Group values the login carried (none for SCIM-triggered syncs). */
  loginGroups?: readonly string[];
  /**
   * Set when `loginGroups` is not the IdP's whole list (Entra group overage, no groups attribute):
   * the sync then flags nothing and lowers no role, and the run is recorded as incomplete.
   */
  loginGroupsIncomplete?: GroupsIncompleteReason | null;
  /** The login's group-like attributes (logins only): checked for values no rule matched. */
  loginGroupAttributes?: readonly GroupLikeAttribute[];
  trigger: Exclude<SyncTrigger, 'pull'>;
  actor: Actor;
  /** The pull run whose page caused this sync (a pulled directory's grants), recorded on the run. */
  pullRunId?: string;
  /**
   * Flag active memberships the rules no longer grant with this reason (`login_lost_grant` at
   * login). `null`: only add, restore and re-role — SCIM removals are flagged by the flags module.
   */
  lostGrant: FlagReason | null;
  /** Write a sync run even when nothing changed (logins do, so /account can say so). */
  alwaysRecord?: boolean;
}

/**
 * Membership rules → memberships for one user, in the caller's transaction. Login sync calls it
 * with `trigger: 'login'`; SCIM with `membership_sync: scim_and_login` calls it after a group change.
 */
export class MembershipSyncService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditService,
    private readonly events: EventService,
    private readonly limit: number,
  ) {}

  async syncUser(trx: Executor, input: SyncUserInput): Promise<SyncRun | null> {
    const { connection, userId } = input;
    const at = this.clock.now().toISOString();
    // When no rule names a group, the group list decides nothing: the run is complete whatever it held.
    const reason = input.loginGroupsIncomplete && connection.membership_rules.some((r) => r.groups?.length) ? input.loginGroupsIncomplete : null;
    const changes = await this.planFor(trx, connection, userId, input.loginGroups ?? [], input.lostGrant, undefined, undefined, reason === null);
    // The directory's SCIM groups were part of the plan already (they always are); without one,
    // nothing stood in for the missing groups.
    const incomplete = reason ? { reason, fallback: (await directoryOfConnection(trx, connection.id)) ? ('directory_groups' as const) : ('kept_memberships' as const) } : undefined;
    const evidence: FlagEvidence = {
      channel: input.trigger === 'login' ? 'login' : input.trigger,
      action: input.trigger === 'login' ? 'login without a granting group' : 'membership rules no longer grant',
      at,
      connection_id: connection.id,
    };
    const run = await applyPlan(trx, { audit: this.audit, events: this.events }, { userId, connectionId: connection.id, trigger: input.trigger, actor: input.actor, at, evidence, incomplete, pullRunId: input.pullRunId }, this.ids.uuid(), changes);
    if (input.loginGroupAttributes) run.group_matching = checkGroupMatching(connection.membership_rules, connection.group_dn_match, input.loginGroupAttributes);
    if (!input.alwaysRecord && !changedSomething(run)) return null;
    await insertSyncRun(trx, run);
    return run;
  }

  /** The plan alone (no writes): used by sync and by rule previews. */
  async planFor(
    db: Executor,
    connection: Connection,
    userId: string,
    loginGroups: readonly string[],
    lostGrant: FlagReason | null,
    rules = connection.membership_rules,
    governedIds?: string[],
    groupsComplete = true,
  ): Promise<Change[]> {
    const directoryId = await directoryOfConnection(db, connection.id);
    const [scimGroups, governed, actual, removed] = await Promise.all([
      directoryId ? scimGroupsOfUser(db, directoryId, userId) : Promise.resolve([]),
      governedIds ? Promise.resolve(governedIds) : governedOrganizationIds(db, connection.id),
      mq.membershipsOfUser(db, userId),
      mq.removalRecordsOfUser(db, userId),
    ]);
    const governedSet = new Set(governed);
    return planSync({
      governed: governedSet,
      desired: desiredMemberships(rules, groupsOf(connection, loginGroups, scimGroups)),
      actual: actual.filter((m) => governedSet.has(m.organization_id)),
      removed,
      membershipCount: actual.length,
      limit: this.limit,
      rolesManagedBy: connection.roles_managed_by,
      lostGrant,
      groupsComplete,
    });
  }

  /** Convenience for SCIM (`scim_and_login`): apply grants outside any caller transaction. */
  async syncUserNow(input: SyncUserInput): Promise<SyncRun | null> {
    return inTransaction(this.db, (trx) => this.syncUser(trx, input));
  }
}

/**
 * The user's group keys: the login's values under the connection's `group_dn_match`, and the SCIM
 * groups' names and external ids compared whole (as the SCIM flag path compares them), so a SCIM
 * group removal and a login agree on which rules a SCIM group meets.
 */
function groupsOf(connection: Connection, loginGroups: readonly string[], scimGroups: readonly string[]): Set<string> {
  const tokens = matchGroups(connection.group_dn_match, loginGroups).tokens;
  for (const key of groupTokens(scimGroups)) tokens.add(key);
  return tokens;
}
