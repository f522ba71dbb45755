import { once } from 'node:events';
import { Router } from 'express';
import type { Container } from '../../../container.js';
import { csvChunks } from '../../reports/csv.js';
import type { OrganizationReport } from '../../reports/service.js';
import type { IncompleteSync, PullRunSummary, SyncRun } from '../../reports/sync-runs.js';
import { findUserById } from '../../users/queries.js';
import { html, type SafeHtml } from '../html.js';
import { formatTime, layout, type ViewContext } from '../layout.js';
import { viewContext } from '../context.js';
import { can, principalOf, requireCan } from '../principal.js';
import { flagReasonLabel } from '../../memberships/labels.js';
import { evidenceText, loadOrganization, orgHeader, reasonLabel, type OrgContext } from './org-context.js';
import { dailyActivity, type DailyActivity } from '../../reports/daily-activity.js';
import { activityChart, reasonBars } from './report-charts.js';
import { groupWarningsSection } from './group-warnings.js';
import { isPullKind, PULL_KIND_LABEL } from '../../pull-directories/settings.js';

/** The page lists this many of the newest flags; the CSV has them all. */
const FLAGGED_ON_PAGE = 200;

const runCell = (n: number, label: string) => (n ? html`<span class="run-count">${n} ${label}</span>` : '');

const INCOMPLETE_LABELS: Record<IncompleteSync['reason'], string> = {
  groups_overage: 'the IdP sent a link instead of the groups (Entra group overage)',
  groups_missing: 'the login carried no groups attribute',
};

/** A run on an incomplete group list: why, and what it held back here instead of flagging or lowering. */
function incompleteCell(incomplete: IncompleteSync, held: IncompleteSync['held']): SafeHtml {
  const fallback = incomplete.fallback === 'directory_groups' ? 'used the directory groups' : 'kept memberships as they were';
  const what = held.length ? html`; held back here: ${held.map((h, i) => html`${i ? ', ' : ''}${h.withheld === 'flag' ? 'a flag' : 'a role change'}`)}` : '';
  return html`<span class="run-incomplete" data-incomplete="${incomplete.reason}">groups incomplete: ${INCOMPLETE_LABELS[incomplete.reason]}; ${fallback}${what}</span>`;
}


/** A pull run as this organization sees it: the directory, how the run ended, and what it changed here. */
function pullRow(run: SyncRun, pull: PullRunSummary): SafeHtml {
  const c = pull.changes;
  const reasons = Object.entries(c.by_reason).filter((e): e is [string, number] => (e[1] ?? 0) > 0);
  const parts = [
    runCell(c.added, 'added'),
    runCell(c.updated, 'role changed'),
    c.flagged ? html`<span class="run-count">${c.flagged} flagged</span> (${reasons.map(([r, n], i) => html`${i ? ', ' : ''}${flagReasonLabel(r).toLowerCase()}: ${n}`)})` : '',
    runCell(c.restored, 'restored'),
    runCell(c.skipped, 'skipped'),
  ].filter((x) => x !== '');
  return html`<tr class="pull-run" data-pull-run="${pull.run_id}" data-status="${pull.status}">
    <td data-label="When">${formatTime(run.at)}</td>
    <td data-label="Trigger">directory pull (${pull.trigger})</td>
    <td data-label="Directory">${pull.directory_name} <span class="muted small">${PULL_KIND_LABEL[pull.kind]}</span></td>
    <td data-label="Changes">${parts.length ? parts.map((x, i) => html`${i ? ', ' : ''}${x}`) : html`<span class="muted">no change here</span>`}
      <br><span class="small">Run <code>${pull.run_id}</code>: ${pull.status}, ${pull.requests} requests${pull.complete ? '' : html`, <strong>incomplete</strong>`}</span>
      ${pull.repeats && pull.repeats > 1 ? html`<br><span class="small run-repeats">The same ${pull.status === 'failed' ? 'failure' : 'interruption'} ${pull.repeats} runs in a row since ${formatTime(pull.first_started_at ?? pull.started_at)}.</span>` : ''}
      ${run.error ? html`<br><span class="error-text">Error: ${run.error}</span>` : ''}
      ${pull.complete
        ? ''
        : html`<br><span class="run-incomplete">Did not complete: it changed nothing that depends on absence here. Users, groups and members it did not get to read are not flagged until a run completes; only what the directory stated on the pages it read was applied.</span>`}</td>
  </tr>`;
}

function runRow(run: SyncRun, orgId: string, emails: Map<string, string>): SafeHtml {
  if (run.pull) return pullRow(run, run.pull);
  // A run may cover many organizations (reconcile, SCIM): count only what it did to this one.
  const here = <T extends { organization_id: string }>(xs: T[]) => xs.filter((x) => x.organization_id === orgId).length;
  const parts = [
    runCell(here(run.added), 'added'),
    runCell(here(run.updated), 'role changed'),
    runCell(here(run.flagged), 'flagged'),
    runCell(here(run.restored), 'restored'),
    runCell(here(run.skipped), 'skipped'),
  ].filter((x) => x !== '');
  const held = run.incomplete ? run.incomplete.held.filter((h) => h.organization_id === orgId) : [];
  if (run.incomplete) parts.push(incompleteCell(run.incomplete, held));
  if (run.group_matching?.unmatched) parts.push(html`<span class="run-incomplete" data-warning="groups_matched_no_rule">groups matched no rule</span>`);
  return html`<tr>
    <td data-label="When">${formatTime(run.at)}</td>
    <td data-label="Trigger">${run.trigger}</td>
    <td data-label="User">${run.user_id ? html`<a href="/admin/audit?user=${run.user_id}">${emails.get(run.user_id) ?? run.user_id}</a>` : html`<span class="muted">—</span>`}</td>
    <td data-label="Changes">${parts.length ? parts.map((x, i) => html`${i ? ', ' : ''}${x}`) : html`<span class="muted">no change</span>`}${run.error ? html`<br><span class="error-text">Error: ${run.error}</span>` : ''}</td>
  </tr>`;
}

function reportPage(ctx: ViewContext, o: OrgContext, report: OrganizationReport, activity: DailyActivity, emails: Map<string, string>): SafeHtml {
  const p = ctx.principal!;
  const s = report.summary;
  const reasons = Object.entries(s.by_reason)
    .filter((e): e is [string, number] => (e[1] ?? 0) > 0)
    .sort((x, y) => y[1] - x[1]);
  const flagged = report.flagged.slice(0, FLAGGED_ON_PAGE);
  return layout(ctx, `${o.org.display_name} sync report`, html`${orgHeader(p, o, 'report')}
    <p class="lead">Generated ${formatTime(report.generated_at)}. <a href="${o.base}/report.csv" download>Download the flagged members as CSV</a></p>
    <dl class="summary">
      <div><dt>Active members</dt><dd id="count-active">${s.active}</dd></div>
      <div><dt>Flagged members</dt><dd id="count-flagged" class="${s.flagged ? 'count-flagged' : ''}">${s.flagged}</dd></div>
      ${isPullKind(s.directory_kind)
        ? html`<div><dt>Last directory pull</dt><dd class="when">${formatTime(s.last_pull_at)}</dd></div>
          <div><dt>Last complete pull</dt><dd class="when">${formatTime(s.last_pull_success_at)}</dd></div>`
        : html`<div><dt>Last SCIM activity</dt><dd class="when">${formatTime(s.last_scim_activity_at)}</dd></div>`}
      <div><dt>Last login sync</dt><dd class="when">${formatTime(s.last_login_sync_at)}</dd></div>
    </dl>
    ${groupWarningsSection(report.group_warnings, report.connection?.name ?? 'the connection')}
    <section aria-labelledby="activity-title-h">
      <h2 id="activity-title-h">The last ${activity.days.length} days</h2>
      ${activityChart(activity)}
    </section>
    <section aria-labelledby="reasons-title">
      <h2 id="reasons-title">Flagged by reason</h2>
      ${reasons.length ? reasonBars(reasons, s.flagged) : html`<p class="empty">Nothing is flagged.</p>`}
    </section>
    ${flagged.length
      ? html`<section aria-labelledby="flagged-title">
        <h2 id="flagged-title">Flagged members${s.flagged > flagged.length ? html` (newest ${flagged.length} of ${s.flagged})` : ''}</h2>
        <p class="help">Remove them from the <a href="${o.base}?tab=flagged">Flagged tab</a>.</p>
        <div class="table-wrap"><table class="stack-sm">
          <thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Reason</th><th scope="col">Evidence</th><th scope="col">Flagged at</th></tr></thead>
          <tbody>${flagged.map((f) => html`<tr>
            <th scope="row">${f.name ?? f.email}${f.name ? html`<br><span class="muted small">${f.email}</span>` : ''}</th>
            <td data-label="Role">${f.role}</td>
            <td data-label="Reason">${reasonLabel(f.reason)}</td>
            <td data-label="Evidence">${evidenceText(f.evidence)}</td>
            <td data-label="Flagged at">${formatTime(f.flagged_at)}</td>
          </tr>`)}</tbody>
        </table></div>
      </section>`
      : ''}
    <section aria-labelledby="runs-title">
      <h2 id="runs-title">Recent sync runs</h2>
      ${report.recent_runs.length
        ? html`<div class="table-wrap"><table class="stack-sm runs">
          <thead><tr><th scope="col">When</th><th scope="col">Trigger</th><th scope="col">User or directory</th><th scope="col">Changes here</th></tr></thead>
          <tbody>${report.recent_runs.map((r) => runRow(r, o.org.id, emails))}</tbody>
        </table></div>`
        : html`<p class="empty">No sync runs have touched this organization yet.</p>`}
    </section>`);
}

export function reportPages(c: Container): Router {
  const r = Router();
  r.get('/organizations/:org/report', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'read:reports');
    const o = await loadOrganization(c, p, String(req.params.org));
    const report = await c.reports.organizationReport(o.org.id, { connectionWarnings: can(p, 'read:connections') });
    // Runs name users by id; the page shows their emails (at most one lookup per recent run).
    const emails = new Map<string, string>();
    for (const id of new Set(report.recent_runs.map((run) => run.user_id).filter((x): x is string => !!x))) {
      const user = await findUserById(c.db, id);
      if (user) emails.set(id, user.email);
    }
    const activity = await dailyActivity(c.db, o.org.id, c.clock.now());
    res.send(reportPage(viewContext(req, res, 'organizations'), o, report, activity, emails).value);
  });

  // The same CSV as the API, streamed a page of members at a time; waits for the client to drain.
  r.get('/organizations/:org/report.csv', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'read:reports');
    const o = await loadOrganization(c, p, String(req.params.org));
    const org = await c.reports.resolveOrganization(o.org.id);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="sync-report-${o.org.name}.csv"`);
    for await (const chunk of csvChunks(c.reports, [org], 'flagged')) {
      if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      if (res.destroyed) return;
    }
    res.end();
  });
  return r;
}
