import { Router } from 'express';
import type { Container } from '../../../container.js';
import { decodeCursor } from '../../../http/pagination.js';
import { isAppError } from '../../../platform/errors.js';
import type { AuditEvent } from '../../audit/types.js';
import { findOrganization } from '../../organizations/queries.js';
import type { FlagEvidence } from '../../memberships/types.js';
import { html, href, type SafeHtml } from '../html.js';
import { formatTime, layout, type ViewContext } from '../layout.js';
import { queryString, viewContext } from '../context.js';
import { principalOf, requireCan, seesOrganization, type AdminPrincipal } from '../principal.js';
import { noUserWithEmail, userByEmail } from '../user-lookup.js';
import { loadAuditNames, type AuditNames } from './audit-names.js';
import { auditSentence, evidenceOf } from './audit-sentence.js';
import { evidenceText } from './org-context.js';

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

/** The actor's id, unless it names an operator's API key or CLI user to an SSO-signed-in organization admin. */
function actorId(e: AuditEvent, names: AuditNames): string | null {
  const id = e.actor.id;
  if (!id || names.operatorView) return id;
  if (e.actor.type === 'cli' || e.actor.type === 'api_key' || (e.actor.type === 'admin_page' && names.apiKeys.has(id))) return null;
  return id;
}

function entry(e: AuditEvent, names: AuditNames): SafeHtml {
  const evidence = evidenceOf(e);
  return html`<li class="audit-entry">
    <p class="sentence">${auditSentence(e, names)}</p>
    <p class="audit-meta">${formatTime(e.at)} · <code>${e.action}</code></p>
    <details>
      <summary>Details${evidence ? ' and evidence' : ''}</summary>
      <dl class="facts">
        ${evidence ? html`<dt>Evidence</dt><dd>${evidenceText(evidence as FlagEvidence)}</dd>` : ''}
        ${e.target_user_id ? html`<dt>User id</dt><dd><a class="mono small" href="${href('/admin/audit', { user: e.target_user_id })}">${e.target_user_id}</a></dd>` : ''}
        ${e.organization_id ? html`<dt>Organization id</dt><dd class="mono small">${e.organization_id}</dd>` : ''}
        <dt>Actor</dt><dd>${e.actor.type}${actorId(e, names) ? html` <span class="mono small">${actorId(e, names)}</span>` : ''}</dd>
        <dt>Recorded</dt><dd class="mono small">${e.detail && Object.keys(e.detail).length ? JSON.stringify(e.detail) : '{}'}</dd>
      </dl>
    </details>
  </li>`;
}

function auditPage(ctx: ViewContext, f: Filters, events: AuditEvent[], names: AuditNames | null, next: string | null, problem?: string) {
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
    ${events.length === 0 || !names
      ? html`<p class="empty">No audit events match.</p>`
      : html`<ol class="audit-list" aria-label="Audit events, newest first">${events.map((e) => entry(e, names))}</ol>`}
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
      res.status(400).send(auditPage(ctx, f, [], null, null, resolved).value);
      return;
    }
    let beforeSeq: number | undefined;
    try {
      beforeSeq = decodeCursor<{ seq: number }>(queryString(req, 'from'), ['seq'])?.seq;
    } catch (err) {
      if (!isAppError(err)) throw err;
      res.status(400).send(auditPage(ctx, f, [], null, null, 'That page link is not valid; start again from the newest events.').value);
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
    res.send(auditPage(ctx, f, page.items, await loadAuditNames(c, p, page.items), page.next).value);
  });
  return r;
}
