import { Router } from 'express';
import type { Container } from '../../../container.js';
import { AppError } from '../../../platform/errors.js';
import type { Scope } from '../../../http/scopes.js';
import { createSetupLinkBody, type Intent, type SetupLinkView } from '../../setup-links/schema.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, formatTime, layout, type ViewContext } from '../layout.js';
import { redirectWith, viewContext } from '../context.js';
import { actorOf, can, principalOf, requireCan, type AdminPrincipal } from '../principal.js';
import { loadOrganization, ssoLine, type OrgContext } from './org-context.js';

/** A link never lets the customer do more than the operator who issued it may do. */
const SCOPE_FOR: Record<Intent, Scope> = { sso: 'create:connections', directory: 'create:directories' };

function linkRow(ctx: ViewContext, o: OrgContext, l: SetupLinkView): SafeHtml {
  return html`<tr>
    <td data-label="Intents">${l.intents.join(' + ')}</td>
    <td data-label="Status"><span class="badge">${l.status}</span></td>
    <td data-label="Expires">${formatTime(l.expires_at)}</td>
    <td data-label="Last used">${formatTime(l.last_used_at)}</td>
    <td data-label="Connection">${l.connection_id ? html`<a href="/admin/connections#c-${l.connection_id}-title" class="mono small">${l.connection_id}</a>` : html`<span class="muted">—</span>`}</td>
    <td>${l.status === 'active' && can(ctx.principal!, 'delete:connections')
      ? html`<form method="post" action="${o.base}/setup-links/${l.id}/revoke">${csrfField(ctx)}<button type="submit" class="secondary">Revoke</button></form>`
      : ''}</td>
  </tr>`;
}

function page(ctx: ViewContext, p: AdminPrincipal, o: OrgContext, links: SetupLinkView[], url?: string): SafeHtml {
  return layout(ctx, `Setup links — ${o.org.display_name}`, html`<p class="crumbs"><a href="/admin/organizations">Organizations</a> / <a href="${o.base}">${o.org.name}</a></p>
    <h1>Setup links for ${o.org.display_name}</h1>
    <p class="org-meta">${ssoLine(p, o)}</p>
    <p class="help">A setup link lets the customer's IT admin configure their identity provider and/or SCIM directory for this organization only, proving their email domains by DNS. The URL is shown once; a new link replaces the live one with the same purpose.</p>
    ${url ? html`<section class="card" aria-labelledby="new-link"><h2 id="new-link">New setup link</h2><p>Send this URL to the customer's IT admin. It is shown only now.</p><p><code class="secret">${url}</code> <button type="button" class="copy" data-copy="${url}">Copy</button></p></section>` : ''}
    <form method="post" action="${o.base}/setup-links" class="card">${csrfField(ctx)}
      <fieldset><legend>What the customer may set up</legend>
        <label><input type="checkbox" name="sso" value="1" checked> Single sign-on (SAML or OpenID Connect)</label>
        <label><input type="checkbox" name="directory" value="1"> Directory (SCIM provisioning)</label>
      </fieldset>
      <label for="expires_days">Expires after (days)</label>
      <input id="expires_days" name="expires_days" type="number" min="1" max="30" value="7">
      <p><button type="submit">Create setup link</button></p>
    </form>
    ${links.length
      ? html`<div class="table-wrap"><table class="stack-sm"><caption>Links and their history (<a href="/admin/audit?organization=${encodeURIComponent(o.org.name)}">audit log</a>)</caption>
        <thead><tr><th scope="col">Intents</th><th scope="col">Status</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">Connection</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${links.map((l) => linkRow(ctx, o, l))}</tbody></table></div>`
      : html`<p>No setup links yet.</p>`}`);
}

/** `/admin/organizations/:org/setup-links`: issue, list and revoke setup links (API-key operators). */
export function setupLinkPages(c: Container): Router {
  const r = Router();
  r.get('/organizations/:org/setup-links', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'read:connections');
    const o = await loadOrganization(c, p, String(req.params.org));
    res.send(page(viewContext(req, res, 'organizations'), p, o, (await c.setupLinks.list(o.org.id, 100)).items).value);
  });

  r.post('/organizations/:org/setup-links', async (req, res) => {
    const p = principalOf(res);
    const o = await loadOrganization(c, p, String(req.params.org));
    const body = (req.body ?? {}) as Record<string, string>;
    const intents = (['sso', 'directory'] as const).filter((i) => body[i] === '1');
    for (const i of intents) requireCan(p, SCOPE_FOR[i]);
    const parsed = createSetupLinkBody.safeParse({ intents, expires_in: Number(body.expires_days || 7) * 86_400 });
    if (!parsed.success) throw new AppError('invalid_body', 400, 'Choose single sign-on and/or a directory, and a lifetime of 1 to 30 days.');
    const created = await c.setupLinks.create(o.org.id, parsed.data, actorOf(p));
    const links = (await c.setupLinks.list(o.org.id, 100)).items;
    res.status(201).send(page(viewContext(req, res, 'organizations'), p, o, links, created.url).value);
  });

  r.post('/organizations/:org/setup-links/:id/revoke', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'delete:connections');
    const o = await loadOrganization(c, p, String(req.params.org));
    await c.setupLinks.revoke(o.org.id, String(req.params.id), actorOf(p));
    redirectWith(req, res, `${o.base}/setup-links`, { kind: 'ok', text: 'Setup link revoked.' });
  });
  return r;
}
