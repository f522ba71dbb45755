import { Router } from 'express';
import type { Container } from '../../../container.js';
import { decodeCursor } from '../../../http/pagination.js';
import { isAppError } from '../../../platform/errors.js';
import type { AuditEvent } from '../../audit/types.js';
import { findOrganization, findOrganizationsByIds } from '../../organizations/queries.js';
import { html, href } from '../html.js';
import { formatTime, layout, type ViewContext } from '../layout.js';
import { queryString, viewContext } from '../context.js';
import { principalOf, requireCan, seesOrganization, type AdminPrincipal } from '../principal.js';
import { noUserWithEmail, userByEmail } from '../user-lookup.js';

const PAGE_SIZE = 50;

/** Suggestions for the action filter; any action name is accepted. */
const KNOWN_ACTIONS = [
  'membership.added', 'membership.role_changed', 'membership.flagged', 'membership.restored', 'membership.removed',
  'user.provisioned', 'user.updated', 'user.deactivated', 'user.reactivated', 'user.deleted',
  'login.succeeded', 'login.denied', 'organization.created', 'organization.updated', 'organization.deleted',
  'connection.created', 'connection.updated', 'connection.deleted', 'directory.created', 'directory.token_rotated',
  'api_key.created', 'api_key.revoked', 'invitation.created',
];

interface Filters {
  organization?: string;
  user?: string;
  action?: string;
}

function auditPage(ctx: ViewContext, f: Filters, events: AuditEvent[], orgNames: Map<string, string>, next: string | null, problem?: string) {
  const rows = events.map((e) => html`<tr>
    <td data-label="When">${formatTime(e.at)}</td>
    <td data-label="Action"><code>${e.action}</code></td>
    <td data-label="Actor">${e.actor.type}${e.actor.id ? html`<br><span class="muted mono small">${e.actor.id}</span>` : ''}</td>
    <td data-label="Organization">${e.organization_id ? html`<a href="${href('/admin/audit', { ...f, organization: orgNames.get(e.organization_id) ?? e.organization_id })}">${orgNames.get(e.organization_id) ?? e.organization_id}</a>` : html`<span class="muted">—</span>`}</td>
    <td data-label="Target user">${e.target_user_id ? html`<a class="mono small" href="${href('/admin/audit', { ...f, user: e.target_user_id })}">${e.target_user_id}</a>` : html`<span class="muted">—</span>`}</td>
    <td data-label="Detail"><code class="detail">${JSON.stringify(e.detail)}</code></td>
  </tr>`);
  return layout(ctx, 'Audit log', html`<h1>Audit log</h1>
    <p class="lead">Every change, newest first. The log is append-only: nothing here can be edited or deleted.</p>
    <form method="get" action="/admin/audit" class="filters" role="search" aria-label="Filter the audit log">
      <div><label for="f-org">Organization</label><input id="f-org" name="organization" value="${f.organization ?? ''}" placeholder="name or id"></div>
      <div><label for="f-user">User</label><input id="f-user" name="user" value="${f.user ?? ''}" placeholder="user id or email"></div>
      <div><label for="f-action">Action</label><input id="f-action" name="action" list="known-actions" value="${f.action ?? ''}" placeholder="e.g. membership.removed">
        <datalist id="known-actions">${KNOWN_ACTIONS.map((a) => html`<option value="${a}"></option>`)}</datalist></div>
      <div class="filter-buttons"><button type="submit">Filter</button> <a href="/admin/audit" class="button secondary">Clear</a></div>
    </form>
    ${problem ? html`<p class="flash flash-error" role="alert">${problem}</p>` : ''}
    ${events.length === 0
      ? html`<p>No audit events match.</p>`
      : html`<div class="table-wrap"><table class="audit stack-sm">
        <caption class="visually-hidden">Audit events</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Actor</th><th scope="col">Organization</th><th scope="col">Target user</th><th scope="col">Detail</th></tr></thead>
        <tbody>${rows}</tbody></table></div>`}
    ${next ? html`<nav class="pager" aria-label="Pages"><a rel="next" href="${href('/admin/audit', { ...f, from: next })}">Older events</a></nav>` : ''}`);
}

async function resolveFilters(c: Container, p: AdminPrincipal, f: Filters): Promise<{ organizationId?: string; userId?: string } | string> {
  let organizationId: string | undefined;
  if (f.organization) {
    const org = await findOrganization(c.db, f.organization);
    if (!org || !seesOrganization(p, org.id)) return `No organization "${f.organization}".`;
    organizationId = org.id;
  }
  let userId = f.user;
  if (f.user?.includes('@')) {
    const found = await userByEmail(c, p, f.user);
    if (!found) return noUserWithEmail(p, f.user);
    userId = found.id;
  }
  return { organizationId, userId };
}

export function auditPages(c: Container): Router {
  const r = Router();
  r.get('/audit', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'read:audit_logs');
    const f: Filters = { organization: queryString(req, 'organization'), user: queryString(req, 'user'), action: queryString(req, 'action') };
    const ctx = viewContext(req, res, 'audit');
    const resolved = await resolveFilters(c, p, f);
    if (typeof resolved === 'string') {
      res.status(400).send(auditPage(ctx, f, [], new Map(), null, resolved).value);
      return;
    }
    let beforeSeq: number | undefined;
    try {
      beforeSeq = decodeCursor<{ seq: number }>(queryString(req, 'from'), ['seq'])?.seq;
    } catch (err) {
      if (!isAppError(err)) throw err;
      res.status(400).send(auditPage(ctx, f, [], new Map(), null, 'That page link is not valid; start again from the newest events.').value);
      return;
    }
    const page = await c.audit.list({
      ...resolved,
      action: f.action,
      organizationIds: p.kind === 'sso' ? [...p.organizationIds] : undefined,
      order: 'desc',
      beforeSeq,
      take: PAGE_SIZE,
    });
    const orgIds = [...new Set(page.items.map((e) => e.organization_id).filter((id): id is string => !!id))];
    const orgNames = new Map((await findOrganizationsByIds(c.db, orgIds)).map((o) => [o.id, o.name] as const));
    res.send(auditPage(ctx, f, page.items, orgNames, page.next).value);
  });
  return r;
}
