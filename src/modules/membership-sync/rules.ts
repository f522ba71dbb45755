import { higherRole, type Role } from '../memberships/types.js';
import type { MembershipRule } from '../connections/schema.js';

/**
 * The groups a user is in, as case-folded tokens: login group values, SCIM group displayNames and
 * SCIM group externalIds. A rule group matches when its case-folded value is one of them.
 */
export function groupTokens(...sources: Iterable<string | null | undefined>[]): Set<string> {
  const out = new Set<string>();
  for (const source of sources) for (const g of source) if (g) out.add(g.toLowerCase());
  return out;
}

/** Desired organizations and roles: every matching rule grants; the highest role wins. Pure. */
export function desiredMemberships(rules: readonly MembershipRule[], groups: ReadonlySet<string>): Map<string, Role> {
  const desired = new Map<string, Role>();
  for (const rule of rules) {
    const grants = rule.groups === null || rule.groups.some((g) => groups.has(g.toLowerCase()));
    if (!grants) continue;
    const current = desired.get(rule.organization_id);
    desired.set(rule.organization_id, current ? higherRole(current, rule.role) : rule.role);
  }
  return desired;
}
