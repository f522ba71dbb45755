import type { Db, Executor } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import type { EventService } from '../events/service.js';
import type { Connection } from '../connections/schema.js';
import type { MembershipRule } from '../connections/schema.js';
import type { FlagEvidence, FlagReason } from '../memberships/types.js';
import { syncRunRows } from '../reports/sync-runs.js';
import { applyPlan, changedSomething } from './apply.js';
import { planSync, type Change } from './plan.js';
import { desiredMemberships, groupTokens, matchGroups, type GroupMatch } from './rules.js';
import { checkGroupMatching } from './group-check.js';
import { planInputsOf, type PlanInputs } from './queries.js';
import type { GroupLikeAttribute, GroupsIncompleteReason, SyncRun, SyncTrigger } from './sync-runs.js';
import { WriteBatch } from './write-batch.js';
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
  /** The user's plan inputs when the caller read them already (a login reads them with its identity). */
  planInputs?: PlanInputs;
  /**
   * Gather the writes here for the caller to flush (with its own, in one statement on PostgreSQL);
   * without one, the sync writes before it returns.
   */
  batch?: WriteBatch;
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
    const batch = input.batch ?? new WriteBatch();
    const at = this.clock.now().toISOString();
    // When no rule names a group, the group list decides nothing: the run is complete whatever it held.
    const reason = input.loginGroupsIncomplete && connection.membership_rules.some((r) => r.groups?.length) ? input.loginGroupsIncomplete : null;
    const inputs = input.planInputs ?? (await planInputsOf(trx, connection.id, userId));
    const loginMatch = matchGroups(connection.group_dn_match, input.loginGroups ?? []);
    const changes = this.plan(connection, inputs, loginMatch, input.lostGrant, connection.membership_rules, reason === null);
    // The directory's SCIM groups were part of the plan already (they always are); without one,
    // nothing stood in for the missing groups.
    const incomplete = reason ? { reason, fallback: inputs.directoryId ? ('directory_groups' as const) : ('kept_memberships' as const) } : undefined;
    const evidence: FlagEvidence = {
      channel: input.trigger === 'login' ? 'login' : input.trigger,
      action: input.trigger === 'login' ? 'login without a granting group' : 'membership rules no longer grant',
      at,
      connection_id: connection.id,
    };
    const run = applyPlan(batch, { audit: this.audit, events: this.events }, { userId, connectionId: connection.id, trigger: input.trigger, actor: input.actor, at, evidence, incomplete, pullRunId: input.pullRunId }, this.ids.uuid(), changes);
    // What the login's own groups matched was worked out for the plan: the check reuses it.
    if (input.loginGroupAttributes) run.group_matching = checkGroupMatching(connection.membership_rules, connection.group_dn_match, input.loginGroupAttributes, loginMatch);
    const record = input.alwaysRecord || changedSomething(run);
    if (record) {
      const { rows, links } = syncRunRows([run]);
      batch.insert('sync_runs', rows).insert('sync_run_organizations', links);
    }
    if (!input.batch) await batch.flush(trx);
    return record ? run : null;
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
    const inputs = await planInputsOf(db, connection.id, userId, governedIds);
    return this.plan(connection, inputs, matchGroups(connection.group_dn_match, loginGroups), lostGrant, rules, groupsComplete);
  }

  private plan(
    connection: Connection,
    inputs: PlanInputs,
    loginMatch: GroupMatch,
    lostGrant: FlagReason | null,
    rules: readonly MembershipRule[],
    groupsComplete: boolean,
  ): Change[] {
    const governedSet = new Set(inputs.governed);
    return planSync({
      governed: governedSet,
      desired: desiredMemberships(rules, groupsOf(loginMatch, inputs.scimGroups)),
      actual: inputs.memberships.filter((m) => governedSet.has(m.organization_id)),
      removed: inputs.removed,
      membershipCount: inputs.memberships.length,
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
 * The user's group keys: the login's values under the connection's `group_dn_match` (matched
 * once, by the caller), and the SCIM groups' names and external ids compared whole (as the SCIM flag
 * path compares them), so a SCIM group removal and a login agree on which rules a SCIM group meets.
 */
function groupsOf(login: GroupMatch, scimGroups: readonly string[]): Set<string> {
  const tokens = new Set(login.tokens);
  for (const key of groupTokens(scimGroups)) tokens.add(key);
  return tokens;
}
