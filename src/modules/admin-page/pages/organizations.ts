import { Router } from 'express';
import type { Container } from '../../../container.js';
import { cursorOf } from '../../../http/pagination.js';
import { findOrganizationsByIds, type OrganizationRow } from '../../organizations/queries.js';
import { findConnectionRow } from '../../connections/queries.js';
import { countsByOrganization, type OrgCounts } from '../../reports/queries.js';
import { html, href } from '../html.js';
import { layout, type ViewContext } from '../layout.js';
import { queryString, viewContext } from '../context.js';
import { can, principalOf, requireCan } from '../principal.js';

const PAGE_SIZE = 50;

interface OrgLine {
  org: OrganizationRow;
  connection: { name: string; type: string } | null;
  counts: OrgCounts;
}

function organizationsPage(ctx: ViewContext, lines: OrgLine[], next: string | null) {
  const p = ctx.principal!;
  const rows = lines.map(({ org: o, connection, counts }) => {
    const base = `/admin/organizations/${encodeURIComponent(o.name)}`;
    const canMembers = can(p, 'read:organization_members');
    return html`<tr>
      <th scope="row">${canMembers ? html`<a href="${base}">${o.display_name}</a>` : o.display_name}<br><span class="muted mono small">${o.name}</span></th>
      <td data-label="SSO">${connection
        ? html`<span class="badge badge-sso">SSO-enabled</span><br><span class="small">${connection.name} (${connection.type.toUpperCase()})</span>`
        : html`<span class="badge">Not SSO-enabled</span>`}</td>
      <td data-label="Active" class="num">${counts.active}</td>
      <td data-label="Flagged" class="num">${counts.flagged
        ? canMembers
          ? html`<a class="count-flagged" href="${base}?tab=flagged">${counts.flagged}</a>`
          : html`<span class="count-flagged">${counts.flagged}</span>`
        : '0'}</td>
      <td class="actions-cell">
        ${canMembers ? html`<a href="${base}">Members</a>` : ''}
        ${can(p, 'read:reports') ? html`<a href="${base}/report">Sync report</a>` : ''}
      </td>
    </tr>`;
  });
  return layout(ctx, 'Organizations', html`<h1>Organizations</h1>
    ${lines.length === 0
      ? html`<p>No organizations yet. Create one with <code>orgsync org create NAME</code> or <code>POST /api/v1/organizations</code>.</p>`
      : html`<div class="table-wrap"><table class="stack-sm orgs">
        <caption class="visually-hidden">Organizations with their SSO state and member counts</caption>
        <thead><tr><th scope="col">Organization</th><th scope="col">SSO</th><th scope="col" class="num">Active</th><th scope="col" class="num">Flagged</th><th scope="col"><span class="visually-hidden">Pages</span></th></tr></thead>
        <tbody>${rows}</tbody>
      </table></div>`}
    ${next ? html`<nav class="pager" aria-label="Pages"><a href="${href('/admin/organizations', { from: next })}" rel="next">Next page</a></nav>` : ''}`);
}

/** Counts by SQL aggregation and each governing connection read once per page. */
async function describe(c: Container, orgs: OrganizationRow[]): Promise<OrgLine[]> {
  const counts = await countsByOrganization(c.db, orgs.map((o) => o.id));
  const connections = new Map<string, { name: string; type: string } | null>();
  for (const id of new Set(orgs.map((o) => o.connection_id).filter((x): x is string => !!x))) {
    const row = await findConnectionRow(c.db, id);
    connections.set(id, row ? { name: row.name, type: row.type } : null);
  }
  return orgs.map((org) => ({
    org,
    connection: org.connection_id ? (connections.get(org.connection_id) ?? null) : null,
    counts: counts.get(org.id) ?? { active: 0, flagged: 0, by_reason: {} },
  }));
}

export function organizationPages(c: Container): Router {
  const r = Router();
  r.get('/organizations', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'read:organizations');
    let orgs: OrganizationRow[];
    let next: string | null = null;
    if (p.kind === 'sso') {
      // An SSO admin's organizations: at most MAX_ORGANIZATIONS_PER_USER, one page.
      orgs = (await findOrganizationsByIds(c.db, [...p.organizationIds])).sort((a, b) => a.name.localeCompare(b.name));
    } else {
      const page = await c.organizations.list(PAGE_SIZE, cursorOf(queryString(req, 'from'), 'id'));
      orgs = page.items.map((o) => ({ ...o, connection_id: o.sso.connection_id }));
      next = page.next;
    }
    res.send(organizationsPage(viewContext(req, res, 'organizations'), await describe(c, orgs), next).value);
  });
  return r;
}
