import { higherRole, type Role } from '../memberships/types.js';
import type { GroupDnMatch, MembershipRule } from '../connections/schema.js';
import { canonicalDn, firstCn, parseDn } from './ldap-dn.js';

/**
 * How a group value is compared: case-folded, and an LDAP DN in one canonical spelling, so
 * `CN=Admins, OU=Groups,DC=acme,DC=com` and `cn=admins,ou=groups,dc=acme,dc=com` are one group.
 */
export function groupKey(value: string): string {
  const dn = value.includes('=') ? parseDn(value) : null;
  return (dn ? canonicalDn(dn) : value).toLowerCase();
}

/**
 * The groups a user is in, as keys (see `groupKey`): login group values, SCIM group displayNames and
 * SCIM group externalIds. A rule group matches when its key is one of them.
 */
export function groupTokens(...sources: Iterable<string | null | undefined>[]): Set<string> {
  const out = new Set<string>();
  for (const source of sources) for (const g of source) if (g) out.add(groupKey(g));
  return out;
}

/** The user's groups as matched under a connection's `group_dn_match`, and what CN matching added. */
export interface GroupMatch {
  tokens: Set<string>;
  /** `cn` only: CN key → the DNs it was read from, for CNs that were not also a group of their own. */
  byCn: Map<string, string[]>;
}

/**
 * `dn` (default): a DN matches a rule group that names the same DN. `cn`: a DN also matches a rule
 * group naming its first RDN's CN (`CN=Admins,OU=Groups,…` → `Admins`), which the connection's
 * admin turned on knowing that CNs repeated in other OUs then match too.
 */
export function matchGroups(dnMatch: GroupDnMatch, ...sources: Iterable<string | null | undefined>[]): GroupMatch {
  const tokens = groupTokens(...sources);
  const byCn = new Map<string, string[]>();
  if (dnMatch === 'cn') {
    for (const source of sources) {
      for (const g of source) {
        const dn = g?.includes('=') ? parseDn(g) : null;
        const cn = dn && dn.length >= 2 ? firstCn(dn) : null;
        if (!cn) continue;
        const key = groupKey(cn);
        if (tokens.has(key) && !byCn.has(key)) continue;
        byCn.set(key, [...(byCn.get(key) ?? []), g!]);
      }
    }
    for (const key of byCn.keys()) tokens.add(key);
  }
  return { tokens, byCn };
}

/**
 * The keys of a rule list's groups, computed once per list: one login matches the same rules in its
 * plan and in its group check, and a DN takes a parse. Keyed weakly by the list a connection load made.
 */
const ruleKeyCache = new WeakMap<readonly MembershipRule[], Map<string, string>>();
export function ruleGroupKeys(rules: readonly MembershipRule[]): Map<string, string> {
  let keys = ruleKeyCache.get(rules);
  if (!keys) {
    keys = new Map();
    for (const rule of rules) for (const g of rule.groups ?? []) if (!keys.has(g)) keys.set(g, groupKey(g));
    ruleKeyCache.set(rules, keys);
  }
  return keys;
}

/** Desired organizations and roles: every matching rule grants; the highest role wins. Pure. */
export function desiredMemberships(rules: readonly MembershipRule[], groups: ReadonlySet<string>): Map<string, Role> {
  const desired = new Map<string, Role>();
  const keys = ruleGroupKeys(rules);
  for (const rule of rules) {
    const grants = rule.groups === null || rule.groups.some((g) => groups.has(keys.get(g)!));
    if (!grants) continue;
    const current = desired.get(rule.organization_id);
    desired.set(rule.organization_id, current ? higherRole(current, rule.role) : rule.role);
  }
  return desired;
}
