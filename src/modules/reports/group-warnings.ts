import type { Executor } from '../../platform/db.js';
import { recentLoginGroupMatching, type SyncRun } from './sync-runs.js';
import { groupKey } from '../membership-sync/rules.js';

/** The connection view, its page and its organizations' reports look at this many of its newest logins. */
export const GROUP_WARNING_WINDOW = 50;
const MAX = 5;

/**
 * What a connection's recent logins say about its group matching, for its admin: logins that carried
 * groups no membership rule matched, and CNs (with `group_dn_match: cn`) that stood for DNs in
 * different OUs. Every sample comes from this connection's own logins.
 */
export interface GroupWarnings {
  logins_checked: number;
  unmatched: {
    /** Logins (of `logins_checked`) whose groups matched no rule. */
    logins: number;
    last_at: string;
    attributes: Array<{ name: string; mapped: boolean; sample: string[] }>;
    would_match_by_cn: string[];
    would_match_if_mapped: string[];
    /** What to change, in plain words. */
    hint: string;
  } | null;
  ambiguous_cn: Array<{ group: string; dns: string[]; hint: string }>;
}

const quoteList = (xs: string[]): string => xs.map((x) => `"${x}"`).join(', ');
const addUnique = (into: string[], xs: string[], max = MAX) => {
  for (const x of xs) if (into.length < max && !into.includes(x)) into.push(x);
};

/** Pure: runs newest first. Null when there is nothing to warn about. */
export function summarizeGroupWarnings(runs: ReadonlyArray<Pick<SyncRun, 'at' | 'group_matching'>>): GroupWarnings | null {
  const withUnmatched = runs.filter((r) => r.group_matching?.unmatched);
  let unmatched: GroupWarnings['unmatched'] = null;
  if (withUnmatched.length) {
    const attributes = new Map<string, { name: string; mapped: boolean; sample: string[] }>();
    const byCn: string[] = [];
    const ifMapped: string[] = [];
    for (const run of withUnmatched) {
      const u = run.group_matching!.unmatched!;
      for (const a of u.attributes) {
        const entry = attributes.get(a.name) ?? (attributes.size < MAX ? { name: a.name, mapped: a.mapped, sample: [] } : undefined);
        if (!entry) continue;
        addUnique(entry.sample, a.sample);
        attributes.set(a.name, entry);
      }
      addUnique(byCn, u.would_match_by_cn, 10);
      addUnique(ifMapped, u.would_match_if_mapped, 10);
    }
    const attrs = [...attributes.values()];
    unmatched = { logins: withUnmatched.length, last_at: withUnmatched[0]!.at, attributes: attrs, would_match_by_cn: byCn, would_match_if_mapped: ifMapped, hint: hintFor(attrs, byCn, ifMapped) };
  }
  const dnsByGroup = new Map<string, { group: string; dns: Map<string, string> }>();
  for (const run of runs) {
    for (const m of run.group_matching?.matched_by_cn ?? []) {
      const entry = dnsByGroup.get(groupKey(m.group)) ?? { group: m.group, dns: new Map<string, string>() };
      for (const dn of m.dns) if (!entry.dns.has(groupKey(dn))) entry.dns.set(groupKey(dn), dn);
      dnsByGroup.set(groupKey(m.group), entry);
    }
  }
  const ambiguous_cn = [...dnsByGroup.values()]
    .filter((e) => e.dns.size > 1)
    .map((e) => {
      const dns = [...e.dns.values()].slice(0, MAX);
      return {
        group: e.group,
        dns,
        hint: `The rule group "${e.group}" matched groups with that CN in different places of the directory (${dns.join(' | ')}): anyone in any of them is granted. Name the full DN in the membership rule to grant only one.`,
      };
    });
  if (!unmatched && ambiguous_cn.length === 0) return null;
  return { logins_checked: runs.length, unmatched, ambiguous_cn };
}

function hintFor(attrs: Array<{ name: string; mapped: boolean }>, byCn: string[], ifMapped: string[]): string {
  if (byCn.length) {
    return `The IdP sends LDAP DNs whose CN matches the rule group(s) ${quoteList(byCn)}. Set "group_dn_match": "cn" on the connection, or write the full DNs in the membership rules.`;
  }
  const unmapped = attrs.filter((a) => !a.mapped).map((a) => a.name);
  if (ifMapped.length) {
    return `Values of ${quoteList(unmapped)} match the rule group(s) ${quoteList(ifMapped)}, but that attribute is not in the connection's attribute_mapping.groups. Add it there.`;
  }
  if (!attrs.some((a) => a.mapped)) {
    return `None of these attributes is in the connection's attribute_mapping.groups. Add the one that carries the groups, and make the membership rules name its values.`;
  }
  return 'No membership rule names any of these values. Change the rules\' groups to the values the IdP sends (see the samples), or have the IdP send the names the rules use.';
}

/** Over the connection's newest logins since its settings last changed (a fix clears the warning). */
export async function groupWarningsOfConnection(db: Executor, connectionId: string, since: string): Promise<GroupWarnings | null> {
  const runs = await recentLoginGroupMatching(db, connectionId, GROUP_WARNING_WINDOW);
  return summarizeGroupWarnings(runs.filter((r) => r.at >= since));
}

/** For an organization's report: the warnings of the connection that governs it. */
export async function groupWarningsOfGoverningConnection(db: Executor, connectionId: string | null): Promise<GroupWarnings | null> {
  if (!connectionId) return null;
  const row = await db('connections').where({ id: connectionId }).first<{ updated_at: string } | undefined>('updated_at');
  return row ? groupWarningsOfConnection(db, connectionId, row.updated_at) : null;
}
