import type { Db } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import { notFound } from '../../platform/errors.js';
import { findOrganization } from '../organizations/queries.js';
import { toPage, type Page } from '../../platform/paging.js';
import * as q from './queries.js';
import { listSyncRuns, recentRunsOfOrganization, type SyncRun } from './sync-runs.js';
import { groupWarningsOfGoverningConnection, type GroupWarnings } from './group-warnings.js';

/** The JSON report lists at most this many flagged members; the CSV export has them all. */
export const FLAGGED_LIMIT = 10_000;
const RECENT_RUNS = 20;

export interface OrganizationSummary {
  organization: { id: string; name: string };
  connection: { id: string; name: string; type: string } | null;
  summary: q.OrgCounts & {
    last_scim_activity_at: string | null;
    last_login_sync_at: string | null;
    /** The governing connection's directory: `scim`, a pull kind, or null without one. */
    directory_kind: q.ReportOrganization['directory_kind'];
    /** Pull directories: when the last run started and when one last completed (null otherwise). */
    last_pull_at: string | null;
    last_pull_success_at: string | null;
  };
}

type Flagged = Omit<q.ReportRow, 'status'>;

export interface OrganizationReport extends OrganizationSummary {
  generated_at: string;
  flagged: Flagged[];
  /** True when more than FLAGGED_LIMIT members are flagged: `summary.flagged` has the full count. */
  flagged_truncated: boolean;
  recent_runs: SyncRun[];
  /** The governing connection's recent logins whose groups matched no rule, or matched ambiguously by CN. */
  group_warnings: GroupWarnings | null;
}

export interface GlobalReport {
  generated_at: string;
  summary: q.OrgCounts & { organizations: number };
  organizations: OrganizationSummary[];
}

const flaggedEntry = ({ status: _s, ...row }: q.ReportRow): Flagged => row;

export class ReportService {
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  async resolveOrganization(ref: string): Promise<q.ReportOrganization> {
    const org = await findOrganization(this.db, ref);
    const row = org && (await q.reportOrganization(this.db, org.id));
    if (!row) throw notFound('Organization');
    return row;
  }

  private async summarise(org: q.ReportOrganization, counts: q.OrgCounts | undefined): Promise<OrganizationSummary> {
    return {
      organization: { id: org.id, name: org.name },
      connection: org.connection_id ? { id: org.connection_id, name: org.connection_name ?? '', type: org.connection_type ?? '' } : null,
      summary: {
        ...(counts ?? { active: 0, flagged: 0, by_reason: {} }),
        last_scim_activity_at: org.last_scim_activity_at,
        last_login_sync_at: await q.lastLoginSyncAt(this.db, org.id),
        directory_kind: org.directory_kind ?? null,
        last_pull_at: org.last_pull_at ?? null,
        last_pull_success_at: org.last_pull_success_at ?? null,
      },
    };
  }

  /**
   * `connectionWarnings`: whether the reader may see the governing connection's group warnings. They
   * sum up every sign-in through the connection (sample group values of people in other
   * organizations, rule groups meant for them), so only a reader of connections gets them.
   */
  async organizationReport(ref: string, opts: { connectionWarnings: boolean }): Promise<OrganizationReport> {
    const generated_at = this.clock.now().toISOString();
    const org = await this.resolveOrganization(ref);
    const [counts, flagged, recent_runs, group_warnings] = await Promise.all([
      q.countsByOrganization(this.db, [org.id]),
      q.newestFlagged(this.db, org.id, FLAGGED_LIMIT + 1),
      recentRunsOfOrganization(this.db, org.id, RECENT_RUNS),
      opts.connectionWarnings ? groupWarningsOfGoverningConnection(this.db, org.connection_id) : null,
    ]);
    return {
      ...(await this.summarise(org, counts.get(org.id))),
      generated_at,
      flagged: flagged.slice(0, FLAGGED_LIMIT).map(flaggedEntry),
      flagged_truncated: flagged.length > FLAGGED_LIMIT,
      recent_runs,
      group_warnings,
    };
  }

  /** Every organization's summary; flagged members are in the per-organization report and the CSV. */
  async globalReport(): Promise<GlobalReport> {
    const generated_at = this.clock.now().toISOString();
    const counts = await q.countsByOrganization(this.db);
    const organizations: OrganizationSummary[] = [];
    for await (const org of this.organizations()) organizations.push(await this.summarise(org, counts.get(org.id)));
    const total: GlobalReport['summary'] = { organizations: organizations.length, active: 0, flagged: 0, by_reason: {} };
    for (const o of organizations) {
      total.active += o.summary.active;
      total.flagged += o.summary.flagged;
      for (const [reason, n] of Object.entries(o.summary.by_reason) as Array<[keyof q.OrgCounts['by_reason'], number]>) {
        total.by_reason[reason] = (total.by_reason[reason] ?? 0) + n;
      }
    }
    return { generated_at, summary: total, organizations };
  }

  /** All organizations, a page at a time. */
  async *organizations(): AsyncGenerator<q.ReportOrganization> {
    let after: string | undefined;
    for (;;) {
      const page = await q.reportOrganizations(this.db, after, 500);
      yield* page;
      if (page.length < 500) return;
      after = page[page.length - 1]!.name;
    }
  }

  /** Report rows of one organization, keyset-paged so memory stays flat whatever its size. */
  async *rows(organizationId: string, status: q.RowFilter): AsyncGenerator<q.ReportRow> {
    let after: string | undefined;
    for (;;) {
      const page = await q.reportRows(this.db, organizationId, status, after, 1000);
      yield* page;
      if (page.length < 1000) return;
      after = page[page.length - 1]!.user_id;
    }
  }

  async syncRuns(f: { organization?: string; user?: string; before?: string; take: number }): Promise<Page<SyncRun>> {
    let organizationId: string | undefined;
    if (f.organization) {
      const org = await findOrganization(this.db, f.organization);
      if (!org) throw notFound('Organization');
      organizationId = org.id;
    }
    const rows = await listSyncRuns(this.db, { organizationId, userId: f.user, beforeId: f.before, take: f.take + 1 });
    return toPage(rows, f.take, (r) => ({ id: r.id }));
  }
}
