import { once } from 'node:events';
import { Option, type Command } from 'commander';
import type { Container } from '../../container.js';
import { csvChunks } from './csv.js';
import { plural } from '../memberships/labels.js';
import type { GlobalReport, OrganizationReport } from './service.js';
import { isPullKind } from '../pull-directories/settings.js';

const pad = (v: string | number | null, n: number) => String(v ?? '').padEnd(n);
const reasons = (by: Record<string, number | undefined>) => Object.entries(by).map(([r, n]) => `${r}=${n}`).join(' ') || '-';

function organizationTable(r: OrganizationReport): string {
  const lines = [
    `${r.organization.name}  ${r.connection ? `governed by ${r.connection.name} (${r.connection.type})` : 'not SSO-enabled'}`,
    `active ${r.summary.active}  flagged ${r.summary.flagged}  ${reasons(r.summary.by_reason)}`,
    isPullKind(r.summary.directory_kind)
      ? `last directory pull ${r.summary.last_pull_at ?? 'never'}  last complete pull ${r.summary.last_pull_success_at ?? 'never'}  last login sync ${r.summary.last_login_sync_at ?? 'never'}`
      : `last SCIM activity ${r.summary.last_scim_activity_at ?? 'never'}  last login sync ${r.summary.last_login_sync_at ?? 'never'}`,
  ];
  const w = r.group_warnings;
  if (w?.unmatched) {
    lines.push('', `warning: ${w.unmatched.logins} of the last ${w.logins_checked} sign-ins carried groups that matched no rule`);
    for (const a of w.unmatched.attributes) lines.push(`  ${a.name}${a.mapped ? '' : ' (not mapped)'}: ${a.sample.join(' | ')}`);
    lines.push(`  ${w.unmatched.hint}`);
  }
  for (const a of w?.ambiguous_cn ?? []) lines.push('', `warning: ${a.hint}`);
  if (r.flagged.length) {
    lines.push('', `${pad('USER', 36)}  ${pad('EMAIL', 32)} ${pad('ROLE', 6)}  ${pad('REASON', 18)} FLAGGED AT`);
    for (const f of r.flagged) lines.push(`${pad(f.user_id, 36)}  ${pad(f.email, 32)} ${pad(f.role, 6)}  ${pad(f.reason, 18)} ${f.flagged_at ?? ''}`);
    if (r.flagged_truncated) lines.push(`… ${r.summary.flagged - r.flagged.length} more (use --format csv for all)`);
  }
  const pulls = r.recent_runs.flatMap((run) => (run.pull ? [{ run, pull: run.pull }] : []));
  if (pulls.length) {
    lines.push('', 'Recent directory pulls:');
    for (const { run, pull } of pulls) {
      const c = pull.changes;
      const changed = [c.added && `added ${c.added}`, c.updated && `role changed ${c.updated}`, c.flagged && `flagged ${c.flagged} (${reasons(c.by_reason)})`, c.restored && `restored ${c.restored}`, c.skipped && `skipped ${c.skipped}`].filter(Boolean).join(', ') || 'no change here';
      lines.push(`${run.at}  ${pull.directory_name} (${pull.kind})  run ${pull.run_id}  ${pull.status}${pull.complete ? '' : ', incomplete'}  ${pull.requests} requests  ${changed}`);
      if (run.error) lines.push(`  error: ${run.error}`);
      if (pull.repeats && pull.repeats > 1) lines.push(`  the same ${pull.status} ${pull.repeats} runs in a row since ${pull.first_started_at ?? pull.started_at}`);
      if (!pull.complete) lines.push('  changed nothing that depends on absence: users, groups and members it did not read are not flagged until a run completes');
    }
  }
  return lines.join('\n');
}

function globalTable(r: GlobalReport): string {
  const lines = [`${pad('ORGANIZATION', 28)} ${pad('CONNECTION', 20)} ${pad('ACTIVE', 8)} ${pad('FLAGGED', 8)} REASONS`];
  for (const o of r.organizations) {
    lines.push(`${pad(o.organization.name, 28)} ${pad(o.connection?.name ?? '-', 20)} ${pad(o.summary.active, 8)} ${pad(o.summary.flagged, 8)} ${reasons(o.summary.by_reason)}`);
  }
  lines.push(`${plural(r.summary.organizations, 'organization')}, ${r.summary.active} active, ${r.summary.flagged} flagged`);
  return lines.join('\n');
}

/** `orgsync report [--org NAME] [--format table|json|csv]`. */
export function reportCommands(program: Command, deps: { withContainer: <T>(fn: (c: Container) => Promise<T>) => Promise<T> }): void {
  program
    .command('report')
    .description('print the sync report of one organization or of all')
    .option('--org <name>', 'organization name or id (default: every organization)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .addOption(new Option('--status <status>', 'CSV rows: flagged members or all members').choices(['flagged', 'all']).default('flagged'))
    .action(async (opts: { org?: string; format: 'table' | 'json' | 'csv'; status: 'flagged' | 'all' }) =>
      deps.withContainer(async (c) => {
        if (opts.format === 'csv') {
          const orgs = opts.org ? [await c.reports.resolveOrganization(opts.org)] : c.reports.organizations();
          for await (const chunk of csvChunks(c.reports, orgs, opts.status)) {
            if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
          }
          return;
        }
        const report = opts.org ? await c.reports.organizationReport(opts.org, { connectionWarnings: true }) : await c.reports.globalReport();
        const text =
          opts.format === 'json' ? JSON.stringify(report, null, 2) : 'organization' in report ? organizationTable(report) : globalTable(report);
        process.stdout.write(`${text}\n`);
      }),
    );
}
