import { Router, type Request, type Response } from 'express';
import type { Container } from '../../../container.js';
import { findDirectoryByConnection } from '../../directories/queries.js';
import type { Directory } from '../../directories/schema.js';
import { plural } from '../../memberships/labels.js';
import { html, type SafeHtml } from '../html.js';
import { copyField, csrfField, formatTime, layout, type ViewContext } from '../layout.js';
import { viewContext } from '../context.js';
import { actorOf, can, principalOf, requireCan } from '../principal.js';

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
    return html`<h3>SCIM provisioning</h3>
      <p class="help">No SCIM directory yet: users and groups arrive only through sign-ins.</p>
      ${can(p, 'create:directories')
        ? html`<form method="post" action="/admin/connections/${connectionId}/directory">${csrfField(ctx)}<button type="submit" class="secondary">Create SCIM directory</button></form>`
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

const KIND_LABEL: Record<string, string> = { google_workspace: 'Google Workspace', microsoft_graph: 'Microsoft Graph' };

/** A pulled directory: last run, next run, counts, last error, and "Sync now". */
function pullSection(ctx: ViewContext, dir: Directory): SafeHtml {
  const p = ctx.principal!;
  const s = dir.sync;
  const last = s?.last_run;
  return html`<h3>Directory sync: ${KIND_LABEL[dir.kind] ?? dir.kind}</h3>
    <p class="help">${dir.users} users and ${dir.groups} groups pulled. Status: <strong class="sync-state">${s?.state ?? 'idle'}</strong>.</p>
    <dl class="sync-status">
      <dt>Last run</dt><dd>${formatTime(s?.last_run_at ?? null)}${last ? html` (${last.status}, ${last.requests} requests)` : ''}</dd>
      <dt>Last success</dt><dd>${formatTime(s?.last_success_at ?? null)}</dd>
      <dt>Next run</dt><dd>${formatTime(s?.next_run_at ?? null)}</dd>
      ${last && Object.keys(last.counts).length ? html`<dt>Last run changed</dt><dd>${Object.entries(last.counts).map(([k, v], i) => html`${i ? ', ' : ''}${k.replace(/_/g, ' ')}: ${v}`)}</dd>` : ''}
      ${s?.last_error ? html`<dt>Last error</dt><dd class="error">${s.last_error}</dd>` : ''}
    </dl>
    ${can(p, 'update:directories')
      ? html`<form method="post" action="/admin/directories/${dir.id}/sync">${csrfField(ctx)}<button type="submit" class="secondary">Sync now</button></form>`
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
    await c.pullDirectories.syncNow(id, false);
    res.redirect(303, `/admin/connections#c-${dir.connection_id}-title`);
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
