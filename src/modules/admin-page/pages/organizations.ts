import { Router } from 'express';
import type { Container } from '../../../container.js';
import { findOrganizationsByIds, type OrganizationRow } from '../../organizations/queries.js';
import { cursorOf } from '../../../http/pagination.js';
import { html, href } from '../html.js';
import { layout, type ViewContext } from '../layout.js';
import { queryString, viewContext } from '../context.js';
import { can, principalOf, requireCan } from '../principal.js';

const PAGE_SIZE = 50;

function organizationsPage(ctx: ViewContext, orgs: OrganizationRow[], next: string | null) {
  const p = ctx.principal!;
  const rows = orgs.map((o) => {
    const base = `/admin/organizations/${encodeURIComponent(o.name)}`;
    return html`<tr>
      <th scope="row"><a href="${base}">${o.display_name}</a><br><span class="muted mono">${o.name}</span></th>
      <td data-label="SSO">${o.connection_id ? html`<span class="badge badge-sso">SSO-enabled</span>` : html`<span class="badge">Not SSO-enabled</span>`}</td>
      <td class="actions-cell">
        ${can(p, 'read:organization_members') ? html`<a href="${base}">Members</a>` : ''}
        ${can(p, 'read:reports') ? html`<a href="${base}/report">Sync report</a>` : ''}
      </td>
    </tr>`;
  });
  return layout(ctx, 'Organizations', html`<h1>Organizations</h1>
    ${orgs.length === 0
      ? html`<p>No organizations yet. Create one with <code>orgsync org create NAME</code> or <code>POST /api/v1/organizations</code>.</p>`
      : html`<div class="table-wrap"><table class="stack-sm">
        <caption class="visually-hidden">Organizations</caption>
        <thead><tr><th scope="col">Organization</th><th scope="col">SSO</th><th scope="col">Pages</th></tr></thead>
        <tbody>${rows}</tbody>
      </table></div>`}
    ${next ? html`<nav class="pager" aria-label="Pages"><a href="${href('/admin/organizations', { from: next })}" rel="next">Next page</a></nav>` : ''}`);
}

export function organizationPages(c: Container): Router {
  const r = Router();
  r.get('/organizations', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'read:organizations');
    if (p.kind === 'sso') {
      const orgs = await findOrganizationsByIds(c.db, [...p.organizationIds]);
      orgs.sort((a, b) => a.name.localeCompare(b.name));
      res.send(organizationsPage(viewContext(req, res, 'organizations'), orgs, null).value);
      return;
    }
    const from = queryString(req, 'from');
    const page = await c.organizations.list(PAGE_SIZE, cursorOf(from, 'id'));
    res.send(organizationsPage(viewContext(req, res, 'organizations'), page.items.map((o) => ({ ...o, connection_id: o.sso.connection_id })), page.next).value);
  });
  return r;
}
