import type { GroupDnMatch, MembershipRule } from '../connections/schema.js';
import type { GroupLikeAttribute, GroupMatching, UnmatchedGroups } from './sync-runs.js';
import { matchGroups, ruleGroupKeys, type GroupMatch } from './rules.js';

const MAX_ATTRIBUTES = 5;
const MAX_SAMPLES = 5;
const MAX_LIST = 10;
const MAX_CHARS = 200;

const cut = (s: string): string => (s.length > MAX_CHARS ? `${s.slice(0, MAX_CHARS - 1)}…` : s);

/**
 * What a login's groups matched, for its sync run: when the login carried group-like values and no
 * rule group matched any of them (a groups attribute under another name, LDAP DNs against rule
 * groups that name CNs, …), which attributes, a few sample values, and which setting would have
 * matched; and which rule groups matched only through a DN's CN. Null when there is nothing to say
 * (no rule names a group, or a rule matched without CN help). `loginMatch`: the login's groups as the
 * sync matched them (the mapped attributes' values), when the caller has it. Pure.
 */
export function checkGroupMatching(rules: readonly MembershipRule[], dnMatch: GroupDnMatch, attributes: readonly GroupLikeAttribute[], loginMatch?: GroupMatch): GroupMatching | null {
  const keys = ruleGroupKeys(rules);
  const ruleGroups = [...keys.keys()];
  if (ruleGroups.length === 0) return null;
  const groupKey = (g: string) => keys.get(g)!;
  const mapped = attributes.filter((a) => a.mapped).flatMap((a) => a.values);
  const login = loginMatch ?? matchGroups(dnMatch, mapped);
  const matched = ruleGroups.filter((g) => login.tokens.has(groupKey(g)));
  const matched_by_cn = matched
    .filter((g) => login.byCn.has(groupKey(g)))
    .slice(0, MAX_LIST)
    .map((g) => ({ group: cut(g), dns: [...new Set(login.byCn.get(groupKey(g)))].slice(0, MAX_SAMPLES).map(cut) }));
  const carried = attributes.filter((a) => a.values.length > 0);
  const unmatched = matched.length === 0 && carried.length > 0 ? describeUnmatched(ruleGroups, groupKey, dnMatch, carried, mapped) : null;
  return unmatched || matched_by_cn.length ? { unmatched, matched_by_cn } : null;
}

function describeUnmatched(ruleGroups: string[], groupKey: (g: string) => string, dnMatch: GroupDnMatch, carried: GroupLikeAttribute[], mapped: string[]): UnmatchedGroups {
  // Mapped attributes first: they are the ones the rules were checked against.
  const shown = [...carried].sort((a, b) => Number(b.mapped) - Number(a.mapped)).slice(0, MAX_ATTRIBUTES);
  const byCn = dnMatch === 'dn' ? matchGroups('cn', mapped).byCn : new Map<string, string[]>();
  const unmapped = matchGroups(dnMatch, carried.filter((a) => !a.mapped).flatMap((a) => a.values)).tokens;
  return {
    attributes: shown.map((a) => ({ name: cut(a.name), mapped: a.mapped, count: a.values.length, sample: a.values.slice(0, MAX_SAMPLES).map(cut) })),
    would_match_by_cn: ruleGroups.filter((g) => byCn.has(groupKey(g))).slice(0, MAX_LIST).map(cut),
    would_match_if_mapped: ruleGroups.filter((g) => unmapped.has(groupKey(g))).slice(0, MAX_LIST).map(cut),
  };
}
