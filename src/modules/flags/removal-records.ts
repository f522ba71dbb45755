import type { Executor } from '../../platform/db.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import type { MembershipKey } from './writer.js';

/**
 * Clears removal records for an explicit IdP re-grant (or an admin), audited as `removal.cleared`.
 * Returns the records that existed.
 */
export async function clearRemovalRecords(
  db: Executor,
  audit: AuditService,
  keys: MembershipKey[],
  actor: Actor,
  detail: Record<string, unknown>,
): Promise<MembershipKey[]> {
  const byOrg = new Map<string, string[]>();
  for (const k of keys) {
    const list = byOrg.get(k.organizationId) ?? [];
    list.push(k.userId);
    byOrg.set(k.organizationId, list);
  }
  const cleared: MembershipKey[] = [];
  for (const [organizationId, userIds] of byOrg) {
    for (let i = 0; i < userIds.length; i += 500) {
      const chunk = userIds.slice(i, i + 500);
      const found = await db('removal_records').where({ organization_id: organizationId }).whereIn('user_id', chunk).pluck('user_id');
      if (found.length === 0) continue;
      await db('removal_records').where({ organization_id: organizationId }).whereIn('user_id', found).delete();
      cleared.push(...found.map((userId: string) => ({ organizationId, userId })));
    }
  }
  if (cleared.length) {
    await audit.record(db, ...cleared.map((k) => ({ action: 'removal.cleared', actor, organizationId: k.organizationId, targetUserId: k.userId, detail })));
  }
  return cleared;
}
