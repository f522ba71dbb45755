import type { Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import { latestSyncRunOfUser, type SyncRun } from '../membership-sync/sync-runs.js';
import type { FlagReason, Role } from '../memberships/types.js';

/** SPEC §5 `/me`. */
export interface Me {
  user: { id: string; email: string; name: string | null };
  organizations: { id: string; name: string; display_name: string; role: Role }[];
  flagged: { id: string; name: string; display_name: string; role: Role; reason: FlagReason | null; flagged_at: string | null }[];
  last_sync_run: SyncRun | null;
}

export async function loadMe(db: Executor, userId: string): Promise<Me | null> {
  const user = await db('users').where({ id: userId }).first<{ id: string; email: string; name: string | null } | undefined>('id', 'email', 'name');
  if (!user) return null;
  const rows = await db('memberships as m')
    .join('organizations as o', 'o.id', 'm.organization_id')
    .where({ 'm.user_id': userId })
    .orderBy('o.name')
    .select<{ id: string; name: string; display_name: string; role: Role; status: string; flagged_reason: FlagReason | null; flagged_at: string | null; flag_evidence: string | null }[]>(
      'o.id', 'o.name', 'o.display_name', 'm.role', 'm.status', 'm.flagged_reason', 'm.flagged_at', 'm.flag_evidence',
    );
  return {
    user: { id: user.id, email: user.email, name: user.name },
    organizations: rows.filter((r) => r.status === 'active').map((r) => ({ id: r.id, name: r.name, display_name: r.display_name, role: r.role })),
    flagged: rows
      .filter((r) => r.status === 'flagged')
      .map((r) => ({ id: r.id, name: r.name, display_name: r.display_name, role: r.role, reason: r.flagged_reason, flagged_at: r.flagged_at, evidence: parseJson(r.flag_evidence, null) })),
    last_sync_run: await latestSyncRunOfUser(db, userId),
  };
}
