import type { Container } from '../../../container.js';
import { countsByOrganization, type OrgCounts } from '../../reports/queries.js';
import type { Organization } from '../../organizations/schema.js';
import { flagReasonLabel } from '../../memberships/labels.js';
import { html, type SafeHtml } from '../html.js';
import { can, requireOrganization, type AdminPrincipal } from '../principal.js';

export interface OrgContext {
  org: Organization;
  connection: { id: string; name: string; type: string } | null;
  counts: OrgCounts;
  base: string;
}

/** The organization a page is about, checked against what the principal may see. */
export async function loadOrganization(c: Container, p: AdminPrincipal, ref: string): Promise<OrgContext> {
  const org = await c.organizations.get(ref);
  requireOrganization(p, org.id);
  const [report, counts] = await Promise.all([c.reports.resolveOrganization(org.id), countsByOrganization(c.db, [org.id])]);
  return {
    org,
    connection: report.connection_id ? { id: report.connection_id, name: report.connection_name ?? '', type: report.connection_type ?? '' } : null,
    counts: counts.get(org.id) ?? { active: 0, flagged: 0, by_reason: {} },
    base: `/admin/organizations/${encodeURIComponent(org.name)}`,
  };
}

export function ssoLine(p: AdminPrincipal, o: OrgContext): SafeHtml {
  if (!o.connection) return html`<span class="badge">Not SSO-enabled</span>`;
  const name = can(p, 'read:connections') ? html`<a href="/admin/connections#c-${o.connection.id}-title">${o.connection.name}</a>` : o.connection.name;
  return html`<span class="badge badge-sso">SSO-enabled</span> through ${name} (${o.connection.type.toUpperCase()})`;
}

/** Heading and sub-navigation shared by an organization's members and report pages. */
export function orgHeader(p: AdminPrincipal, o: OrgContext, current: 'members' | 'report'): SafeHtml {
  const link = (page: 'members' | 'report', path: string, label: string) =>
    html`<a href="${path}"${current === page ? html` aria-current="page"` : ''}>${label}</a>`;
  return html`<p class="crumbs"><a href="/admin/organizations">Organizations</a> / ${o.org.name}</p>
    <h1>${o.org.display_name}</h1>
    <p class="org-meta">${ssoLine(p, o)}</p>
    <nav class="subnav" aria-label="${o.org.display_name}">
      ${can(p, 'read:organization_members') ? link('members', o.base, 'Members') : ''}
      ${can(p, 'read:reports') ? link('report', `${o.base}/report`, 'Sync report') : ''}
      ${p.kind === 'api_key' && can(p, 'read:connections') ? html`<a href="${o.base}/setup-links">Setup links</a>` : ''}
    </nav>`;
}

export const reasonLabel = (reason: string | null): SafeHtml =>
  reason ? html`<span class="badge badge-flag">${flagReasonLabel(reason)}</span><br><code class="small">${reason}</code>` : html`<span class="muted">—</span>`;

/** What the IdP did, when, through which channel. */
export function evidenceText(e: { channel: string; action: string; at: string; [k: string]: unknown } | null): SafeHtml {
  if (!e) return html`<span class="muted">—</span>`;
  const extra = Object.entries(e).filter(([k]) => !['channel', 'action', 'at'].includes(k));
  return html`<span class="evidence">${e.channel.toUpperCase()}: ${e.action}${extra.length ? html`<br><span class="muted small">${extra.map(([k, v], i) => html`${i ? '; ' : ''}${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)}</span>` : ''}</span>`;
}
