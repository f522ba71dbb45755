import { Router, type Request, type Response } from 'express';
import type { Container } from '../../../container.js';
import { findDirectoryByConnection } from '../../directories/queries.js';
import type { Directory } from '../../directories/schema.js';
import { plural } from '../../memberships/labels.js';
import { html, type SafeHtml } from '../html.js';
import { copyField, csrfField, formatTime, layout, type ViewContext } from '../layout.js';
import { redirectWith, viewContext } from '../context.js';
import { AppError } from '../../../platform/errors.js';
import { actorOf, can, principalOf, requireCan } from '../principal.js';
import { isPullKind, PULL_KIND_LABEL } from '../../pull-directories/settings.js';

/** Grace periods offered when rotating: the old token keeps working while the IdP is updated. */
const GRACE_CHOICES: Array<[number, string]> = [
  [3600, '1 hour'],
  [86_400, '24 hours'],
  [0, 'no grace: the old token stops now'],
];

export async function directoryOf(c: Container, connectionId: string): Promise<Directory | undefined> {
  const row = await findDirectoryByConnection(c.db, connectionId);
  return row ? c.directories.get(row.id) : undefined;
}

/** The SCIM part of a connection card: base URL, tokens, rotation (or creation). */
export function scimSection(ctx: ViewContext, connectionId: string, dir: Directory | undefined): SafeHtml {
  const p = ctx.principal!;
  if (!dir) {
    return html`<h3>Directory</h3>
      <p class="help">No SCIM directory yet, and none pulled: users and groups arrive only through sign-ins, so orgsync cannot learn when the identity provider removes someone who no longer signs in.</p>
      ${can(p, 'create:directories')
        ? html`<div class="actions start">
          <form method="post" action="/admin/connections/${connectionId}/directory">${csrfField(ctx)}<button type="submit" class="secondary">Create SCIM directory</button></form>
          <a class="button secondary" href="/admin/connections/${connectionId}/directory/new?kind=google_workspace">Pull from Google Workspace</a>
          <a class="button secondary" href="/admin/connections/${connectionId}/directory/new?kind=microsoft_graph">Pull from Microsoft Graph</a>
        </div>`
        : ''}`;
  }
  if (dir.kind !== 'scim' || dir.scim_base_url === null) return pullSection(ctx, dir);
  return html`<h3>SCIM provisioning</h3>
    ${copyField(`d-${dir.id}-url`, 'SCIM base URL', dir.scim_base_url)}
    <p class="help">${plural(dir.users, 'user')} and ${plural(dir.groups, 'group')} provisioned; last SCIM request ${formatTime(dir.last_activity_at)}.</p>
    <p class="help">Live tokens: ${dir.tokens.map((tk, i) => html`${i ? ', ' : ''}<code>${tk.prefix}…</code> (created ${formatTime(tk.created_at)}${tk.expires_at ? html`, stops ${formatTime(tk.expires_at)}` : ''})`)}</p>
    ${can(p, 'update:directories')
      ? html`<form method="post" action="/admin/directories/${dir.id}/rotate-token" class="rotate">
        ${csrfField(ctx)}
        <label for="grace-${dir.id}">Old token keeps working for</label>
        <select id="grace-${dir.id}" name="grace_seconds">${GRACE_CHOICES.map(([s, label]) => html`<option value="${s}">${label}</option>`)}</select>
        <button type="submit" class="secondary">Rotate token</button>
      </form>`
      : ''}`;
}


/** The settings of a pulled directory, without its secret: only whether one is stored. */
function settingsList(dir: Directory): SafeHtml {
  const g = dir.settings?.microsoft_graph;
  const w = dir.settings?.google_workspace;
  const every = dir.settings ? `every ${Math.round(dir.settings.sync_interval_seconds / 60)} minutes` : '';
  if (g) {
    return html`<dl class="facts"><dt>Name</dt><dd>${dir.name}</dd><dt>Tenant ID</dt><dd class="mono">${g.tenant_id}</dd><dt>Client ID</dt><dd class="mono">${g.client_id}</dd>
      <dt>Client secret</dt><dd>${g.client_secret_set ? 'stored encrypted (never shown)' : 'missing'}</dd>
      ${g.api_base_url ? html`<dt>API base URL</dt><dd class="mono">${g.api_base_url}</dd>` : ''}${g.token_url ? html`<dt>Token URL</dt><dd class="mono">${g.token_url}</dd>` : ''}
      <dt>Sync</dt><dd>${every}</dd></dl>`;
  }
  if (w) {
    return html`<dl class="facts"><dt>Name</dt><dd>${dir.name}</dd><dt>Service account</dt><dd class="mono">${w.client_email}</dd>
      <dt>Key</dt><dd>${w.service_account_key_set ? 'stored encrypted (never shown)' : 'missing'}</dd>
      <dt>Admin impersonated</dt><dd class="mono">${w.admin_email}</dd>
      <dt>${w.domain ? 'Domain' : 'Customer'}</dt><dd class="mono">${w.domain ?? w.customer_id ?? 'the whole account (my_customer)'}</dd>
      ${w.api_base_url ? html`<dt>API base URL</dt><dd class="mono">${w.api_base_url}</dd>` : ''}${w.token_url ? html`<dt>Token URL</dt><dd class="mono">${w.token_url}</dd>` : ''}
      <dt>Sync</dt><dd>${every}</dd></dl>`;
  }
  return html``;
}

/** Replaces the stored client secret or service-account key (uploaded or pasted). */
function rotateForm(ctx: ViewContext, dir: Directory): SafeHtml {
  const id = `rotate-${dir.id}`;
  const graph = dir.kind === 'microsoft_graph';
  return html`<details class="rotate-credentials">
    <summary>${graph ? 'Rotate the client secret' : 'Replace the service account key'}</summary>
    <form method="post" action="/admin/directories/${dir.id}/credentials" class="stack" enctype="multipart/form-data">
      ${csrfField(ctx)}
      ${graph
        ? html`<label for="${id}-secret">New client secret</label><input id="${id}-secret" name="client_secret" type="password" autocomplete="new-password" required>`
        : html`<label for="${id}-file">New JSON key file</label><input id="${id}-file" name="service_account_key_file" type="file" accept=".json,application/json">
          <label for="${id}-paste">Or paste the JSON key</label><textarea id="${id}-paste" name="service_account_key" rows="4" spellcheck="false" autocomplete="off"></textarea>`}
      <p class="help">It replaces the stored one at once; the next sync uses it. It is never shown again.</p>
      <button type="submit" class="secondary">${graph ? 'Save the new secret' : 'Save the new key'}</button>
    </form>
  </details>`;
}

/** A pulled directory: its settings, last run, next run, counts, last error, "Sync now" and rotation. */
function pullSection(ctx: ViewContext, dir: Directory): SafeHtml {
  const p = ctx.principal!;
  const s = dir.sync;
  const last = s?.last_run;
  return html`<h3>Directory sync: ${isPullKind(dir.kind) ? PULL_KIND_LABEL[dir.kind] : dir.kind}</h3>
    ${settingsList(dir)}
    <p class="help">${dir.users} users and ${dir.groups} groups pulled. Status: <strong class="sync-state">${s?.state ?? 'idle'}</strong>.</p>
    <dl class="facts sync-status">
      <dt>Last run</dt><dd>${formatTime(s?.last_run_at ?? null)}${last ? html` (${last.status}, ${last.requests} requests)` : ''}</dd>
      <dt>Last success</dt><dd>${formatTime(s?.last_success_at ?? null)}</dd>
      <dt>Next run</dt><dd>${formatTime(s?.next_run_at ?? null)}</dd>
      ${last && Object.keys(last.counts).length ? html`<dt>Last run changed</dt><dd>${Object.entries(last.counts).map(([k, v], i) => html`${i ? ', ' : ''}${k.replace(/_/g, ' ')}: ${v}`)}</dd>` : ''}
      ${s?.last_error ? html`<dt>Last error</dt><dd class="error">${s.last_error}</dd>` : ''}
    </dl>
    ${can(p, 'update:directories')
      ? html`<form method="post" action="/admin/directories/${dir.id}/sync">${csrfField(ctx)}<button type="submit" class="secondary">Sync now</button></form>
        ${rotateForm(ctx, dir)}`
      : ''}`;
}

/** Shows a new token once: rendered in the POST's own response, never stored or put in a URL. */
function tokenPage(ctx: ViewContext, dir: Directory, token: string, created: boolean): SafeHtml {
  return layout(ctx, created ? 'SCIM directory created' : 'SCIM token rotated', html`<section class="card narrow" aria-labelledby="token-title">
    <h1 id="token-title">${created ? 'SCIM directory created' : 'New SCIM token'}</h1>
    <div class="secret">
      <p><strong>Copy this token now: it is shown only once.</strong> Paste it into the identity provider's provisioning settings with the base URL.</p>
      ${copyField('new-token', 'Bearer token', token)}
      ${copyField('new-token-url', 'SCIM base URL', dir.scim_base_url ?? '')}
    </div>
    <p><a href="/admin/connections">Back to connections</a></p>
  </section>`);
}

const graceOf = (req: Request): number => {
  const v = Number((req.body as Record<string, unknown>).grace_seconds);
  return GRACE_CHOICES.some(([s]) => s === v) ? v : 3600;
};

export function directoryPages(c: Container): Router {
  const r = Router();
  const show = (req: Request, res: Response, dir: Directory, token: string, created: boolean) =>
    res.status(created ? 201 : 200).send(tokenPage(viewContext(req, res, 'connections'), dir, token, created).value);

  r.post('/directories/:id/rotate-token', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'update:directories');
    const rotated = await c.directories.rotate(String(req.params.id), graceOf(req), actorOf(p));
    show(req, res, rotated, rotated.token, false);
  });

  r.post('/directories/:id/sync', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'update:directories');
    const id = String(req.params.id);
    const dir = await c.directories.get(id);
    const back = `/admin/connections#c-${dir.connection_id}-title`;
    try {
      await c.pullDirectories.syncNow(id, false);
    } catch (err) {
      if (err instanceof AppError && err.status === 409) return redirectWith(req, res, back, { kind: 'error', text: err.message });
      throw err;
    }
    await redirectWith(req, res, back, { kind: 'ok', text: `Sync of \u201c${dir.name}\u201d started. Reload this page to see its progress.` });
  });

  r.post('/connections/:id/directory', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'create:directories');
    const conn = await c.connections.get(String(req.params.id));
    const created = await c.directories.create({ connection_id: conn.id }, actorOf(p));
    show(req, res, created, created.token, true);
  });
  return r;
}
