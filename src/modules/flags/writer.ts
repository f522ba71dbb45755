import type { Knex } from 'knex';
import type { Executor } from '../../platform/db.js';
import type { AuditService } from '../audit/service.js';
import type { Actor, AuditInput } from '../audit/types.js';
import type { EventInput, EventService } from '../events/service.js';
import type { FlagEvidence, FlagReason } from '../memberships/types.js';

export interface MembershipKey {
  organizationId: string;
  userId: string;
}

const CHUNK = 500;

function byOrganization(keys: MembershipKey[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const k of keys) {
    const list = map.get(k.organizationId) ?? [];
    list.push(k.userId);
    map.set(k.organizationId, list);
  }
  return map;
}

/**
 * Writes flag and restore changes for many memberships at once, with their audit events and
 * outbox events, in the caller's transaction. Updates are set-based (per organization, chunked
 * `whereIn`) so a change touching thousands of members stays a handful of statements.
 */
export class FlagWriter {
  constructor(private readonly audit: AuditService, private readonly events: EventService) {}

  /**
   * Flags memberships that are active (or, with `alsoReflag`, flagged for one of those reasons).
   * Returns the memberships actually changed.
   */
  async flag(
    trx: Executor,
    keys: MembershipKey[],
    reason: FlagReason,
    evidence: FlagEvidence,
    actor: Actor,
    alsoReflag: FlagReason[] = [],
  ): Promise<MembershipKey[]> {
    const changed: Array<MembershipKey & { previous: FlagReason | null }> = [];
    for (const [organizationId, userIds] of byOrganization(keys)) {
      for (let i = 0; i < userIds.length; i += CHUNK) {
        const chunk = userIds.slice(i, i + CHUNK);
        const eligible = (q: Knex.QueryBuilder): Knex.QueryBuilder =>
          q
            .where('organization_id', organizationId)
            .whereIn('user_id', chunk)
            .where((w) => {
              w.where('status', 'active');
              if (alsoReflag.length) w.orWhere((o) => o.where('status', 'flagged').whereIn('flagged_reason', alsoReflag));
            });
        const rows = await eligible(trx('memberships')).select<Array<{ user_id: string; flagged_reason: FlagReason | null }>>('user_id', 'flagged_reason');
        if (rows.length === 0) continue;
        await eligible(trx('memberships')).update({
          status: 'flagged',
          flagged_reason: reason,
          flagged_at: evidence.at,
          flag_evidence: JSON.stringify(evidence),
          last_synced_at: evidence.at,
        });
        for (const r of rows) changed.push({ organizationId, userId: r.user_id, previous: r.flagged_reason });
      }
    }
    await this.record(
      trx,
      changed.map((k) => ({
        audit: {
          action: 'membership.flagged',
          actor,
          organizationId: k.organizationId,
          targetUserId: k.userId,
          detail: { reason, evidence, ...(k.previous ? { previous_reason: k.previous } : {}) },
        },
        event: { type: 'membership.flagged', organizationId: k.organizationId, userId: k.userId, data: { reason, evidence } },
      })),
    );
    return changed.map(({ organizationId, userId }) => ({ organizationId, userId }));
  }

  /** Restores flagged memberships (only those flagged for one of `reasons`, when given). */
  async restore(
    trx: Executor,
    keys: MembershipKey[],
    at: string,
    actor: Actor,
    detail: Record<string, unknown>,
    reasons?: FlagReason[],
  ): Promise<MembershipKey[]> {
    const changed: Array<MembershipKey & { previous: string | null }> = [];
    for (const [organizationId, userIds] of byOrganization(keys)) {
      for (let i = 0; i < userIds.length; i += CHUNK) {
        const chunk = userIds.slice(i, i + CHUNK);
        const eligible = (q: Knex.QueryBuilder): Knex.QueryBuilder => {
          q.where({ organization_id: organizationId, status: 'flagged' }).whereIn('user_id', chunk);
          if (reasons) q.whereIn('flagged_reason', reasons);
          return q;
        };
        const rows = await eligible(trx('memberships')).select<Array<{ user_id: string; flagged_reason: string | null }>>('user_id', 'flagged_reason');
        if (rows.length === 0) continue;
        await eligible(trx('memberships')).update({ status: 'active', flagged_reason: null, flagged_at: null, flag_evidence: null, last_synced_at: at });
        for (const r of rows) changed.push({ organizationId, userId: r.user_id, previous: r.flagged_reason });
      }
    }
    await this.record(
      trx,
      changed.map((k) => ({
        audit: { action: 'membership.restored', actor, organizationId: k.organizationId, targetUserId: k.userId, detail: { ...detail, previous_reason: k.previous } },
        event: { type: 'membership.restored', organizationId: k.organizationId, userId: k.userId, data: { ...detail, previous_reason: k.previous } },
      })),
    );
    return changed.map(({ organizationId, userId }) => ({ organizationId, userId }));
  }

  private async record(trx: Executor, entries: Array<{ audit: AuditInput; event: EventInput }>): Promise<void> {
    if (entries.length === 0) return;
    await this.audit.record(trx, ...entries.map((e) => e.audit));
    await this.events.emit(trx, ...entries.map((e) => e.event));
  }
}
