import type { Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { Connection, MembershipRule } from '../connections/schema.js';
import type { FlagReason, Role, SkipReason } from '../memberships/types.js';
import type { MembershipSyncService } from './service.js';
import { directoryOfConnection } from './queries.js';

export interface RulesPreview {
  users_evaluated: number;
  added: { user_id: string; organization_id: string; role: Role }[];
  updated: { user_id: string; organization_id: string; from_role: Role; to_role: Role }[];
  flagged: { user_id: string; organization_id: string; reason: FlagReason }[];
  restored: { user_id: string; organization_id: string }[];
  skipped: { user_id: string; organization_id: string; reason: SkipReason }[];
}

/**
 * What new rules would do to every known user of the connection (those with an identity on it or a
 * linked SCIM user in its directory), using their last login's groups and current SCIM groups. A
 * user whose last login's group list was incomplete is never shown as flagged or lowered. Reads only. The organizations the new rules name are the ones they would govern.
 */
export async function previewRules(db: Executor, sync: MembershipSyncService, connection: Connection, rules: MembershipRule[]): Promise<RulesPreview> {
  // null: the last login's group list was incomplete (or never recorded), so its absences prove nothing.
  const users = new Map<string, string[] | null>();
  const identities = await db('identities').where({ connection_id: connection.id }).select<{ user_id: string; last_groups: string | null }[]>('user_id', 'last_groups');
  for (const i of identities) users.set(i.user_id, i.last_groups === null ? null : parseJson<string[]>(i.last_groups, []));
  const directoryId = await directoryOfConnection(db, connection.id);
  if (directoryId) {
    const linked = await db('scim_users').where({ directory_id: directoryId }).whereNotNull('user_id').pluck<string[]>('user_id');
    for (const id of linked) if (!users.has(id)) users.set(id, []);
  }
  const governed = [...new Set(rules.map((r) => r.organization_id))];
  const out: RulesPreview = { users_evaluated: users.size, added: [], updated: [], flagged: [], restored: [], skipped: [] };
  for (const [userId, groups] of users) {
    const changes = await sync.planFor(db, connection, userId, groups ?? [], 'login_lost_grant', rules, governed, groups !== null);
    for (const c of changes) {
      if (c.kind === 'add') out.added.push({ user_id: userId, organization_id: c.organizationId, role: c.role });
      else if (c.kind === 'role') out.updated.push({ user_id: userId, organization_id: c.organizationId, from_role: c.from, to_role: c.to });
      else if (c.kind === 'flag') out.flagged.push({ user_id: userId, organization_id: c.organizationId, reason: c.reason });
      else if (c.kind === 'restore') out.restored.push({ user_id: userId, organization_id: c.organizationId });
      else if (c.kind === 'skip') out.skipped.push({ user_id: userId, organization_id: c.organizationId, reason: c.reason });
    }
  }
  return out;
}
