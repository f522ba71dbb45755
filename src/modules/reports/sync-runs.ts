import type { Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { FlagReason, Role, SkipReason } from '../memberships/types.js';

export type SyncTrigger = 'login' | 'scim' | 'reconcile' | 'pull';

/**
 * Why a login's group list could not say what the user lost: Entra sent a link instead of the groups
 * (group overage), or the login carried no groups attribute at all.
 */
export type GroupsIncompleteReason = 'groups_overage' | 'groups_missing';

/** A login sync that ran on an incomplete group list: nothing it did depends on a group's absence. */
export interface IncompleteSync {
  reason: GroupsIncompleteReason;
  /** The groups it used instead: the directory's SCIM groups, or none (memberships kept as they were). */
  fallback: 'directory_groups' | 'kept_memberships';
  /** Memberships a complete list could have flagged or moved to a lower role: kept as they were. */
  held: Array<{ organization_id: string; withheld: 'flag' | 'role_change' }>;
}

/** What a pull run did in one organization: how many memberships it changed, by kind. */
export interface PullChanges {
  added: number;
  updated: number;
  flagged: number;
  restored: number;
  skipped: number;
  by_reason: Partial<Record<FlagReason, number>>;
}

/**
 * A pull run (Google Workspace, Microsoft Graph) as one organization's report shows it: the
 * evidence (directory, kind, run id, status, error, what the run read and changed) and what it
 * changed in this organization. A run that did not complete (`complete: false`) applied only what
 * the source stated explicitly on the pages it read; nothing that depends on absence changed.
 */
export interface PullRunSummary {
  run_id: string;
  organization_id: string;
  directory_id: string;
  directory_name: string;
  kind: 'google_workspace' | 'microsoft_graph';
  trigger: 'schedule' | 'manual';
  status: 'succeeded' | 'failed' | 'interrupted';
  complete: boolean;
  started_at: string;
  finished_at: string;
  requests: number;
  /** The whole run's counts (users created, suspended, deleted, group members removed, …). */
  counts: Record<string, number>;
  /** What the run changed in this organization's memberships. */
  changes: PullChanges;
  /**
   * How many consecutive runs of this directory ended the same way (same status and error, nothing
   * changed here) and stand behind this one entry, and when the first of them started; a directory
   * whose credentials keep failing shows once, not once per retry. Absent means 1.
   */
  repeats?: number;
  first_started_at?: string;
}

/** A login attribute that carries groups, or looks like it does (a known group attribute name, or DN values). */
export interface GroupLikeAttribute {
  name: string;
  /** Named in the connection's `attribute_mapping.groups`: its values take part in matching. */
  mapped: boolean;
  values: string[];
}

/** The login carried group-like values and no membership rule matched any of them. Bounded in size. */
export interface UnmatchedGroups {
  /** At most 5 attributes, each with its value count and at most 5 sample values (200 characters each). */
  attributes: Array<{ name: string; mapped: boolean; count: number; sample: string[] }>;
  /** Rule groups that a DN's CN would have matched with `group_dn_match: cn`. */
  would_match_by_cn: string[];
  /** Rule groups that values of an unmapped attribute would have matched, were it in `attribute_mapping.groups`. */
  would_match_if_mapped: string[];
}

/** What a login's groups matched, when there is something to say about it. */
export interface GroupMatching {
  unmatched: UnmatchedGroups | null;
  /** Rule groups matched only through a DN's CN (`group_dn_match: cn`), with the DNs that stood for them. */
  matched_by_cn: Array<{ group: string; dns: string[] }>;
}

/** SPEC §5 sync run. Reconcile runs cover many users: their entries carry `user_id`. */
export interface SyncRun {
  id: string;
  trigger: SyncTrigger;
  user_id: string | null;
  connection_id: string | null;
  directory_id: string | null;
  at: string;
  added: Array<{ organization_id: string; role: Role; user_id?: string }>;
  updated: Array<{ organization_id: string; from_role: Role; to_role: Role; user_id?: string }>;
  flagged: Array<{ organization_id: string; reason: FlagReason; user_id?: string }>;
  restored: Array<{ organization_id: string; user_id?: string }>;
  skipped: Array<{ organization_id: string; reason: SkipReason; user_id?: string }>;
  error: string | null;
  /** Set when a login sync ran on an incomplete group list; null otherwise. */
  incomplete: IncompleteSync | null;
  /** The pull run that wrote this run (SCIM-lifecycle runs of a pulled directory); null otherwise. */
  pull_run_id: string | null;
  /** Trigger `pull`: the pull run's summary in one organization; null otherwise. */
  pull: PullRunSummary | null;
  /** Login runs only: group-like values no rule matched, rule groups matched by CN; null otherwise. */
  group_matching: GroupMatching | null;
}

export interface SyncRunRow {
  id: string;
  trigger: SyncTrigger;
  user_id: string | null;
  connection_id: string | null;
  directory_id: string | null;
  at: string;
  added: string;
  updated: string;
  flagged: string;
  restored: string;
  skipped: string;
  error: string | null;
  incomplete: string | null;
  pull_run_id: string | null;
  pull: string | null;
  group_matching: string | null;
}

export const emptyRun = (r: Pick<SyncRun, 'id' | 'trigger' | 'user_id' | 'connection_id' | 'directory_id' | 'at'> & { pull_run_id?: string | null }): SyncRun => ({
  ...r,
  pull_run_id: r.pull_run_id ?? null,
  pull: null,
  added: [],
  updated: [],
  flagged: [],
  restored: [],
  skipped: [],
  error: null,
  incomplete: null,
  group_matching: null,
});

// Held memberships count as touched: an organization's report shows the run that could not check them.
// A pull summary belongs to the one organization it describes.
const touched = (run: SyncRun): string[] => [
  ...new Set([...run.added, ...run.updated, ...run.flagged, ...run.restored, ...run.skipped, ...(run.incomplete?.held ?? []), ...(run.pull ? [run.pull] : [])].map((e) => e.organization_id)),
];

export const runChangedAnything = (run: SyncRun): boolean => touched(run).length > 0 || run.error !== null;

/** Writes runs and the organizations each touched (so reports find an org's runs by index). */
export async function insertSyncRuns(db: Executor, runs: SyncRun[]): Promise<void> {
  const { rows, links } = syncRunRows(runs);
  for (let i = 0; i < rows.length; i += 50) await db('sync_runs').insert(rows.slice(i, i + 50));
  for (let i = 0; i < links.length; i += 200) await db('sync_run_organizations').insert(links.slice(i, i + 200));
}

/** The `sync_runs` rows of runs and their `sync_run_organizations` links, as `insertSyncRuns` writes them. */
export function syncRunRows(runs: SyncRun[]): { rows: SyncRunRow[]; links: Array<{ sync_run_id: string; organization_id: string }> } {
  const rows = runs.map((r) => ({
    id: r.id,
    trigger: r.trigger,
    user_id: r.user_id,
    connection_id: r.connection_id,
    directory_id: r.directory_id,
    at: r.at,
    added: JSON.stringify(r.added),
    updated: JSON.stringify(r.updated),
    flagged: JSON.stringify(r.flagged),
    restored: JSON.stringify(r.restored),
    skipped: JSON.stringify(r.skipped),
    error: r.error,
    incomplete: r.incomplete ? JSON.stringify(r.incomplete) : null,
    pull_run_id: r.pull_run_id,
    pull: r.pull ? JSON.stringify(r.pull) : null,
    group_matching: r.group_matching ? JSON.stringify(r.group_matching) : null,
  }));
  const links = runs.flatMap((r) => touched(r).map((organization_id) => ({ sync_run_id: r.id, organization_id })));
  return { rows, links };
}

export const toSyncRun = (r: SyncRunRow): SyncRun => ({
  id: r.id,
  trigger: r.trigger,
  user_id: r.user_id,
  connection_id: r.connection_id,
  directory_id: r.directory_id,
  at: r.at,
  added: parseJson(r.added, []),
  updated: parseJson(r.updated, []),
  flagged: parseJson(r.flagged, []),
  restored: parseJson(r.restored, []),
  skipped: parseJson(r.skipped, []),
  error: r.error,
  incomplete: parseJson<IncompleteSync | null>(r.incomplete, null),
  pull_run_id: r.pull_run_id ?? null,
  pull: parseJson<PullRunSummary | null>(r.pull, null),
  group_matching: parseJson<GroupMatching | null>(r.group_matching ?? null, null),
});

/** Newest first; run ids are time-ordered UUIDs, so `id` is the sort and cursor key. */
export async function listSyncRuns(
  db: Executor,
  f: { organizationId?: string; userId?: string; beforeId?: string; take: number },
): Promise<SyncRun[]> {
  const q = db('sync_runs as r').select<SyncRunRow[]>('r.*').orderBy('r.id', 'desc').limit(f.take);
  if (f.organizationId) {
    q.whereIn('r.id', (sub) => {
      sub.select('sync_run_id').from('sync_run_organizations').where('organization_id', f.organizationId!);
    });
  }
  if (f.userId) q.where('r.user_id', f.userId);
  if (f.beforeId) q.where('r.id', '<', f.beforeId);
  return (await q).map(toSyncRun);
}

/** An organization's newest runs, found through sync_run_organizations' (organization_id, sync_run_id) key. */
export async function recentRunsOfOrganization(db: Executor, organizationId: string, take: number): Promise<SyncRun[]> {
  const rows = await db('sync_run_organizations as l')
    .join('sync_runs as r', 'r.id', 'l.sync_run_id')
    .where('l.organization_id', organizationId)
    .orderBy('l.sync_run_id', 'desc')
    .limit(take)
    .select<SyncRunRow[]>('r.*');
  return rows.map(toSyncRun);
}

/** When and what the groups matched, of a connection's newest login runs (by the `(connection_id, id)` index). */
export async function recentLoginGroupMatching(db: Executor, connectionId: string, take: number): Promise<Array<Pick<SyncRun, 'at' | 'group_matching'>>> {
  const rows = await db('sync_runs')
    .where({ connection_id: connectionId, trigger: 'login' })
    .orderBy('id', 'desc')
    .limit(take)
    .select<Array<Pick<SyncRunRow, 'at' | 'group_matching'>>>('at', 'group_matching');
  return rows.map((r) => ({ at: r.at, group_matching: parseJson<GroupMatching | null>(r.group_matching ?? null, null) }));
}
