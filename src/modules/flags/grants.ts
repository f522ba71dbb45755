import type { Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { Role } from '../memberships/types.js';
import { groupKey } from '../membership-sync/rules.js';

export interface Rule {
  organizationId: string;
  role: Role;
  /** null: the rule grants everyone on the connection. */
  groups: string[] | null;
}

export interface GroupRef {
  displayName: string;
  externalId: string | null;
}

export async function rulesOfConnection(db: Executor, connectionId: string): Promise<Rule[]> {
  const rows = await db('membership_rules as r')
    .join('organizations as o', 'o.id', 'r.organization_id')
    // A rule only counts for organizations its connection still governs.
    .where({ 'r.connection_id': connectionId, 'o.connection_id': connectionId })
    .orderBy('r.position')
    .select<Array<{ organization_id: string; role: Role; groups: string | null }>>('r.organization_id', 'r.role', 'r.groups');
  return rows.map((r) => ({ organizationId: r.organization_id, role: r.role, groups: parseJson<string[] | null>(r.groups, null) }));
}

/**
 * SCIM displayName is case-insensitive (caseExact false), and a DN matches however it is spelled
 * (as at login: `groupKey`); externalId is compared exactly.
 */
export function ruleMatchesGroup(rule: Rule, group: GroupRef): boolean {
  if (rule.groups === null) return false;
  const name = groupKey(group.displayName);
  return rule.groups.some((g) => groupKey(g) === name || (group.externalId !== null && g === group.externalId));
}

/** Organizations the rules grant to someone in `groups` (rules without groups grant everyone). */
export function grantedOrganizations(rules: Rule[], groups: GroupRef[]): Set<string> {
  const granted = new Set<string>();
  for (const rule of rules) {
    if (rule.groups === null || groups.some((g) => ruleMatchesGroup(rule, g))) granted.add(rule.organizationId);
  }
  return granted;
}

/** Organizations for which some rule names `group`, minus those a no-group rule grants to everyone. */
export function organizationsGrantedByGroup(rules: Rule[], group: GroupRef): Set<string> {
  const everyone = new Set(rules.filter((r) => r.groups === null).map((r) => r.organizationId));
  return new Set(rules.filter((r) => ruleMatchesGroup(r, group) && !everyone.has(r.organizationId)).map((r) => r.organizationId));
}

/** Each SCIM user's groups in the directory, except `excludeGroupId` (the group being removed). */
export async function groupsOfScimUsers(
  db: Executor,
  directoryId: string,
  scimUserIds: string[],
  excludeGroupId?: string,
): Promise<Map<string, GroupRef[]>> {
  const result = new Map<string, GroupRef[]>();
  for (let i = 0; i < scimUserIds.length; i += 500) {
    const q = db('scim_group_members as m')
      .join('scim_groups as g', 'g.id', 'm.group_id')
      .where({ 'm.directory_id': directoryId, 'g.directory_id': directoryId })
      .whereIn('m.scim_user_id', scimUserIds.slice(i, i + 500))
      .select<Array<{ scim_user_id: string; display_name: string; external_id: string | null }>>('m.scim_user_id', 'g.display_name', 'g.external_id');
    if (excludeGroupId) q.whereNot('g.id', excludeGroupId);
    for (const r of await q) {
      const list = result.get(r.scim_user_id) ?? [];
      list.push({ displayName: r.display_name, externalId: r.external_id });
      result.set(r.scim_user_id, list);
    }
  }
  return result;
}
