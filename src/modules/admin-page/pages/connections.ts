import { Router } from 'express';
import type { Container } from '../../../container.js';
import { cursorOf } from '../../../http/pagination.js';
import type { ConnectionView } from '../../connections/model.js';
import { html, href, type SafeHtml } from '../html.js';
import { copyField, csrfField, formatTime, layout, type ViewContext } from '../layout.js';
import { queryString, redirectWith, viewContext } from '../context.js';
import { actorOf, can, principalOf, requireCan } from '../principal.js';
import { directoryOf, scimSection } from './directories.js';
import { groupWarningsSection } from './group-warnings.js';
import type { SpKeyView } from '../../connections/sp-keys.js';

const PAGE_SIZE = 20;

function spSettings(conn: ConnectionView): SafeHtml {
  const id = (what: string) => `c-${conn.id}-${what}`;
  if ('acs_url' in conn.sp) {
    return html`${copyField(id('entity'), 'SP entity ID', conn.sp.entity_id)}
      ${copyField(id('acs'), 'ACS URL', conn.sp.acs_url)}
      ${copyField(id('metadata'), 'Metadata URL', conn.sp.metadata_url)}
      ${copyField(id('login'), 'Login URL', conn.sp.login_url)}`;
  }
  return html`${copyField(id('redirect'), 'Redirect URI', conn.sp.redirect_uri)}
    ${copyField(id('login'), 'Login URL', conn.sp.login_url)}
    ${copyField(id('jwks'), 'JWKS URL (private_key_jwt)', conn.sp.jwks_uri)}`;
}

/** The connection's own keys: which one is current, which previous one still counts and until when. Certificates are in the SP metadata. */
export function spKeySection(conn: ConnectionView, keys: SpKeyView[]): SafeHtml {
  const signing = conn.type === 'saml' ? (conn.sign_authn_requests !== null ? (conn.sign_authn_requests ? 'signed (set on the connection)' : 'not signed (set on the connection)') : 'signed if the IdP metadata asks (WantAuthnRequestsSigned)') : null;
  return html`<h3>Service provider keys</h3>
    <p class="help">Rotate with <code>orgsync connection rotate-keys ${conn.name}</code> or <code>POST /api/v1/connections/{id}/sp-keys/rotate</code>; the previous key stays published until it is retired.</p>
    <dl class="facts">
      ${signing ? html`<dt>AuthnRequests</dt><dd>${signing}</dd><dt>Encrypted assertions</dt><dd>${conn.require_encrypted_assertions ? 'required' : 'accepted, not required'}</dd>` : ''}
      ${keys.map(
        (k) => html`<dt>${k.use === 'signing' ? 'Signing key' : 'Encryption key'} (${k.status})</dt>
          <dd><span class="mono">${k.fingerprint_sha256}</span><br><span class="muted">created ${k.created_at.slice(0, 10)}${k.status === 'previous' ? (k.retire_after ? `, counts until ${k.retire_after}` : ', counts until retired') : ''}</span></dd>`,
      )}
    </dl>`;
}

function idpSummary(conn: ConnectionView): SafeHtml {
  if ('issuer' in conn.idp) return html`<dt>Issuer</dt><dd class="mono">${conn.idp.issuer}</dd><dt>Client ID</dt><dd class="mono">${conn.idp.client_id}</dd>`;
  return html`<dt>IdP entity ID</dt><dd class="mono">${conn.idp.entity_id}</dd><dt>IdP SSO URL</dt><dd class="mono">${conn.idp.sso_url}</dd>
    <dt>Signing certificates</dt><dd>${conn.idp.certificates.length}</dd>`;
}

/**
 * SAML settings from a metadata URL: when it was last fetched, the error of a failed refresh (the
 * last good metadata stays in use), and "Refresh now" for keys that may update connections.
 */
function metadataSection(ctx: ViewContext | undefined, conn: ConnectionView): SafeHtml | string {
  const m = conn.metadata_refresh;
  if (!m) return '';
  return html`<h3>IdP metadata</h3>
    ${copyField(`c-${conn.id}-idp-metadata`, 'IdP metadata URL', m.url)}
    <dl class="sync-status">
      <dt>Last refreshed</dt><dd>${formatTime(m.last_success_at)}</dd>
      <dt>Next refresh</dt><dd>${formatTime(m.next_refresh_at)}</dd>
      ${m.valid_until ? html`<dt>Metadata valid until</dt><dd>${formatTime(m.valid_until)}</dd>` : ''}
      ${m.last_error ? html`<dt>Last refresh failed</dt><dd class="error-text metadata-error">${m.last_error} (attempted ${formatTime(m.last_attempt_at)}; the last good metadata stays in use)</dd>` : ''}
    </dl>
    ${ctx?.principal && can(ctx.principal, 'update:connections')
      ? html`<form method="post" action="/admin/connections/${conn.id}/metadata/refresh">${csrfField(ctx)}<button type="submit" class="secondary">Refresh metadata now</button></form>`
      : ''}`;
}

export function connectionCard(conn: ConnectionView, extra: SafeHtml | string = '', ctx?: ViewContext): SafeHtml {
  const orgs = [...new Map(conn.membership_rules.map((r) => [r.organization_id, r.organization])).values()];
  return html`<section class="card" aria-labelledby="c-${conn.id}-title">
    <h2 id="c-${conn.id}-title">${conn.name} <span class="badge badge-sso">${conn.type.toUpperCase()}</span>${conn.status === 'setup' ? html` <span class="badge">being set up through a setup link</span>` : ''}</h2>
    <dl class="facts">
      <dt>Verified domains</dt><dd>${conn.domains.join(', ')}</dd>
      ${idpSummary(conn)}
      <dt>Governed organizations</dt><dd>${orgs.length ? orgs.map((name, i) => html`${i ? ', ' : ''}<a href="/admin/organizations/${encodeURIComponent(name)}">${name}</a>`) : html`<span class="muted">none (no membership rules)</span>`}</dd>
      <dt>Roles managed by</dt><dd>${conn.roles_managed_by === 'idp' ? 'the identity provider' : 'admins'}</dd>
      <dt>Membership sync</dt><dd>${conn.membership_sync === 'on_login' ? 'at login (flags apply at once)' : 'SCIM changes and login'}</dd>
      <dt>Group DNs match</dt><dd>${conn.group_dn_match === 'cn' ? 'by the whole DN or its CN' : 'by the whole DN'}</dd>
    </dl>
    ${metadataSection(ctx, conn)}
    ${groupWarningsSection(conn.group_warnings, conn.name)}
    <h3>Service provider settings</h3>
    <p class="help">Paste these into the identity provider's application settings.</p>
    ${spSettings(conn)}
    ${extra}
  </section>`;
}

function connectionsPage(ctx: ViewContext, cards: SafeHtml[], next: string | null) {
  return layout(ctx, 'Connections', html`<h1>Connections</h1>
    <p class="lead">Each connection is one identity provider: how its users sign in and which organizations it governs.</p>
    ${cards.length ? cards : html`<p>No connections yet. Create one with <code>orgsync connection create --file conn.json</code> or <code>POST /api/v1/connections</code>.</p>`}
    ${next ? html`<nav class="pager" aria-label="Pages"><a rel="next" href="${href('/admin/connections', { from: next })}">More connections</a></nav>` : ''}`);
}

export function connectionPages(c: Container): Router {
  const r = Router();
  r.get('/connections', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'read:connections');
    const page = await c.connections.list(PAGE_SIZE, cursorOf(queryString(req, 'from'), 'id'));
    const ctx = viewContext(req, res, 'connections');
    const cards: SafeHtml[] = [];
    for (const conn of page.items) {
      const scim = can(p, 'read:directories') ? scimSection(ctx, conn.id, await directoryOf(c, conn.id)) : '';
      cards.push(connectionCard(conn, html`${spKeySection(conn, await c.spKeys.list(conn))}${scim}`, ctx));
    }
    res.send(connectionsPage(ctx, cards, page.next).value);
  });

  r.post('/connections/:id/metadata/refresh', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'update:connections');
    const report = await c.samlMetadata.refresh(String(req.params.id), 'manual', actorOf(p));
    const what = report.changed
      ? `certificates added: ${report.certificates_added.length}, removed: ${report.certificates_removed.length}${report.sso_url_changed ? ', SSO URL changed' : ''}`
      : 'nothing changed';
    await redirectWith(req, res, `/admin/connections#c-${report.connection_id}-title`, report.ok ? { kind: 'ok', text: `Metadata of ${report.name} refreshed: ${what}.` } : { kind: 'error', text: `Metadata of ${report.name} could not be refreshed: ${report.error} The last good metadata stays in use.` });
  });
  return r;
}
