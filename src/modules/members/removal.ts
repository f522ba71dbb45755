import type { Executor } from '../../platform/db.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import type { EventService } from '../events/service.js';
import type { OrganizationRow } from '../organizations/queries.js';
import { insertRemovalRecords } from '../memberships/queries.js';
import type { MembershipBrief } from './queries.js';

/**
 * Deletes memberships of one organization, and nothing else: user accounts, identities and other
 * memberships stay. In an SSO-governed organization a removal record keeps login sync from adding
 * the membership back. Access ends at once because every access check reads the membership row.
 */
export async function removeMemberships(
  trx: Executor,
  deps: { audit: AuditService; events: EventService; at: string },
  org: OrganizationRow,
  members: MembershipBrief[],
  actor: Actor,
  extra: Record<string, unknown> = {},
): Promise<void> {
  if (members.length === 0) return;
  const userIds = members.map((m) => m.user_id);
  for (let i = 0; i < userIds.length; i += 500) {
    await trx('memberships').where('organization_id', org.id).whereIn('user_id', userIds.slice(i, i + 500)).delete();
  }
  if (org.connection_id) await insertRemovalRecords(trx, org.id, userIds, actor, deps.at);
  const detail = (m: MembershipBrief) => ({
    role: m.role,
    status: m.status,
    source: m.source,
    flagged_reason: m.flagged_reason,
    removal_record: org.connection_id !== null,
    ...extra,
  });
  await deps.audit.record(trx, ...members.map((m) => ({ action: 'membership.removed', actor, organizationId: org.id, targetUserId: m.user_id, detail: detail(m) })));
  await deps.events.emit(trx, ...members.map((m) => ({ type: 'membership.removed' as const, organizationId: org.id, userId: m.user_id, data: { ...detail(m), actor } })));
}
