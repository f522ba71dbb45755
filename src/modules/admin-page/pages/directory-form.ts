import { Router, type Request } from 'express';
import type { Container } from '../../../container.js';
import type { ConnectionView } from '../../connections/model.js';
import { createDirectoryBody } from '../../directories/schema.js';
import { pullPatchBody } from '../../pull-directories/settings.js';
import { AppError } from '../../../platform/errors.js';
import { html, href, type SafeHtml } from '../html.js';
import { csrfField, layout, type ViewContext } from '../layout.js';
import { queryString, redirectWith, viewContext } from '../context.js';
import { actorOf, principalOf, requireCan } from '../principal.js';
import { fieldErrors, type FieldErrors } from './form-errors.js';
import { isPullKind, PULL_KIND_LABEL } from '../../pull-directories/settings.js';

export type FormKind = 'scim' | 'google_workspace' | 'microsoft_graph';

const KIND_LABEL: Record<FormKind, string> = { scim: 'SCIM (the IdP pushes)', ...PULL_KIND_LABEL };
const KIND_NAME: Record<FormKind, string> = { scim: 'SCIM', ...PULL_KIND_LABEL };

const INTERVALS: Array<[number, string]> = [
  [300, 'every 5 minutes (recommended)'],
  [900, 'every 15 minutes'],
  [3600, 'every hour'],
  [21_600, 'every 6 hours'],
  [86_400, 'once a day'],
];

type Values = Record<string, string>;

const kindOf = (v: string | undefined): FormKind => (isPullKind(v) ? v : v === 'scim' ? 'scim' : 'microsoft_graph');

const str = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};
const optional = (v: string): string | undefined => (v.trim() === '' ? undefined : v.trim());

/** One labelled input with its help and, after a failed submit, its error (linked for screen readers). */
function field(
  errors: FieldErrors,
  opts: { name: string; label: string; value?: string; type?: string; help?: string | SafeHtml; required?: boolean; autocomplete?: string; textarea?: boolean; accept?: string; note?: string },
): SafeHtml {
  const id = `f-${opts.name}`;
  const err = errors.get(opts.name);
  const described = [opts.help ? `${id}-help` : '', err ? `${id}-error` : ''].filter(Boolean).join(' ');
  const common = html` id="${id}" name="${opts.name}"${described ? html` aria-describedby="${described}"` : ''}${err ? html` aria-invalid="true"` : ''}${opts.required ? html` required` : ''}`;
  const control = opts.textarea
    ? html`<textarea${common} rows="6" spellcheck="false" autocomplete="off">${opts.value ?? ''}</textarea>`
    : html`<input${common} type="${opts.type ?? 'text'}" value="${opts.type === 'file' || opts.type === 'password' ? '' : (opts.value ?? '')}" spellcheck="false" autocomplete="${opts.autocomplete ?? 'off'}"${opts.accept ? html` accept="${opts.accept}"` : ''}>`;
  return html`<div class="field">
    <label for="${id}">${opts.label}${opts.required ? '' : html` <span class="muted small">(${opts.note ?? 'optional'})</span>`}</label>
    ${control}
    ${opts.help ? html`<p id="${id}-help" class="help">${opts.help}</p>` : ''}
    ${err ? html`<p id="${id}-error" class="field-error">${err}</p>` : ''}
  </div>`;
}

function endpointFields(errors: FieldErrors, v: Values, kind: 'google_workspace' | 'microsoft_graph'): SafeHtml {
  const open = errors.has('api_base_url') || errors.has('token_url') || !!v.api_base_url || !!v.token_url;
  return html`<details class="advanced"${open ? html` open` : ''}>
    <summary>Other endpoints (sovereign clouds, proxies)</summary>
    ${field(errors, { name: 'api_base_url', label: 'API base URL', value: v.api_base_url, type: 'url', help: kind === 'microsoft_graph' ? 'Default https://graph.microsoft.com/v1.0; for example https://graph.microsoft.us/v1.0 for US Government.' : 'Default https://admin.googleapis.com.' })}
    ${field(errors, { name: 'token_url', label: 'Token URL', value: v.token_url, type: 'url', help: kind === 'microsoft_graph' ? 'Default https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token.' : 'Default https://oauth2.googleapis.com/token.' })}
  </details>`;
}

function kindFields(kind: FormKind, errors: FieldErrors, v: Values): SafeHtml {
  if (kind === 'microsoft_graph') {
    return html`<fieldset><legend>Microsoft Graph app registration</legend>
      <p class="help">An app registration in the customer's Entra ID with the application permissions <code>User.Read.All</code> and <code>GroupMember.Read.All</code>, admin consent granted (<a href="https://learn.microsoft.com/graph/auth-v2-service">Microsoft's guide</a>).</p>
      ${field(errors, { name: 'tenant_id', label: 'Tenant ID', value: v.tenant_id, required: true, help: 'The directory (tenant) ID, a GUID, or the tenant\u2019s primary domain.' })}
      ${field(errors, { name: 'client_id', label: 'Client ID', value: v.client_id, required: true, help: 'The application (client) ID of the app registration.' })}
      ${field(errors, { name: 'client_secret', label: 'Client secret', type: 'password', autocomplete: 'new-password', required: true, help: 'The secret\u2019s value (not its ID). It is stored encrypted and never shown again.' })}
      ${endpointFields(errors, v, kind)}
    </fieldset>`;
  }
  if (kind === 'google_workspace') {
    return html`<fieldset><legend>Google Workspace service account</legend>
      <p class="help">A service account with domain-wide delegation for the scopes <code>admin.directory.user.readonly</code>, <code>admin.directory.group.readonly</code> and <code>admin.directory.group.member.readonly</code>.</p>
      ${field(errors, { name: 'service_account_key_file', label: 'Service account JSON key file', type: 'file', accept: '.json,application/json', note: 'this or the pasted key', help: 'Upload the key file Google gave you, or paste its contents below. It is stored encrypted and never shown again.' })}
      ${field(errors, { name: 'service_account_key', label: 'Or paste the JSON key', textarea: true, note: 'this or the file' })}
      ${field(errors, { name: 'admin_email', label: 'Admin email to impersonate', value: v.admin_email, type: 'email', required: true, help: 'A Workspace administrator who can read users and groups; the service account acts as this person.' })}
      ${field(errors, { name: 'customer_id', label: 'Customer ID', value: v.customer_id, help: 'From the Admin console (Account \u2192 Account settings), like C01abc23d. Give this or the domain, not both; neither means the whole account.' })}
      ${field(errors, { name: 'domain', label: 'Domain', value: v.domain, help: 'Only the users of one domain of the account, like example.com.' })}
      ${endpointFields(errors, v, kind)}
    </fieldset>`;
  }
  return html`<p class="help">The identity provider pushes users and groups to a SCIM base URL with a bearer token; the token is shown once, after you create the directory.</p>`;
}

function formPage(ctx: ViewContext, conn: ConnectionView, kind: FormKind, v: Values, errors: FieldErrors, formError?: string): SafeHtml {
  const base = `/admin/connections/${conn.id}/directory/new`;
  const count = errors.size;
  return layout(ctx, `New directory for ${conn.name}`, html`<section class="card narrow wide-form" aria-labelledby="dir-form-title">
    <h1 id="dir-form-title">New directory for ${conn.name}</h1>
    <p class="lead">Where users and groups come from, so orgsync learns when the identity provider removes someone.</p>
    <nav class="tabs" aria-label="Directory kind">
      ${(['scim', 'google_workspace', 'microsoft_graph'] as const).map((k) => html`<a href="${href(base, { kind: k })}"${k === kind ? html` aria-current="page"` : ''}>${KIND_LABEL[k]}</a>`)}
    </nav>
    ${formError || count
      ? html`<div class="flash flash-error" role="alert" id="form-errors"><p>${formError ?? (count === 1 ? 'One field needs attention:' : `${count} fields need attention:`)}</p>
        ${count ? html`<ul>${[...errors].map(([name, text]) => html`<li><a href="#f-${name}">${text}</a></li>`)}</ul>` : ''}
        ${kind !== 'scim' ? html`<p class="small">For safety, secrets and keys are never sent back to the browser: enter them again.</p>` : ''}</div>`
      : ''}
    ${kind === 'scim'
      ? html`${kindFields(kind, errors, v)}<form method="post" action="/admin/connections/${conn.id}/directory" class="stack">${csrfField(ctx)}<button type="submit">Create SCIM directory</button></form>`
      : html`<form method="post" action="/admin/connections/${conn.id}/pull-directory" class="stack" enctype="multipart/form-data" novalidate>
        ${csrfField(ctx)}
        <input type="hidden" name="kind" value="${kind}">
        ${field(errors, { name: 'name', label: 'Name', value: v.name, help: `Shown in reports and the audit log; default: ${conn.name}.` })}
        ${kindFields(kind, errors, v)}
        <div class="field">
          <label for="f-sync_interval_seconds">Sync</label>
          <select id="f-sync_interval_seconds" name="sync_interval_seconds">${INTERVALS.map(([s, label]) => html`<option value="${s}"${String(s) === (v.sync_interval_seconds ?? '300') ? html` selected` : ''}>${label}</option>`)}</select>
          ${errors.get('sync_interval_seconds') ? html`<p class="field-error">${errors.get('sync_interval_seconds')}</p>` : ''}
        </div>
        <button type="submit">Create ${KIND_NAME[kind]} directory</button>
      </form>`}
    <p><a href="/admin/connections#c-${conn.id}-title">Back to connections</a></p>
  </section>`);
}

/** The form's fields as the API's body, so the API's own schema validates them. */
function createBody(connectionId: string, kind: 'google_workspace' | 'microsoft_graph', b: unknown): Record<string, unknown> {
  const common = { connection_id: connectionId, kind, name: optional(str(b, 'name')), sync_interval_seconds: Number(str(b, 'sync_interval_seconds') || 300) };
  const endpoints = { api_base_url: optional(str(b, 'api_base_url')), token_url: optional(str(b, 'token_url')) };
  if (kind === 'microsoft_graph') {
    return { ...common, microsoft_graph: { tenant_id: str(b, 'tenant_id'), client_id: str(b, 'client_id'), client_secret: str(b, 'client_secret'), ...endpoints } };
  }
  const key = optional(str(b, 'service_account_key_file')) ?? optional(str(b, 'service_account_key')) ?? '';
  return {
    ...common,
    google_workspace: { service_account_key: key, admin_email: str(b, 'admin_email'), customer_id: optional(str(b, 'customer_id')), domain: optional(str(b, 'domain')), ...endpoints },
  };
}

/** What the form shows again after a failed submit: never a secret or a key. */
const SHOWN_AGAIN = ['name', 'sync_interval_seconds', 'tenant_id', 'client_id', 'admin_email', 'customer_id', 'domain', 'api_base_url', 'token_url'];
const valuesOf = (b: unknown): Values => Object.fromEntries(SHOWN_AGAIN.map((k) => [k, str(b, k)]));

const createdText = (kind: 'google_workspace' | 'microsoft_graph', name: string) =>
  `${KIND_NAME[kind]} directory \u201c${name}\u201d created. Its first sync is due now: it starts with the next scheduled check, or at once with Sync now.`;

/** "New directory" (SCIM, Google Workspace, Microsoft Graph) and the rotation of a pulled directory's secret or key. */
export function directoryFormPages(c: Container): Router {
  const r = Router();
  const load = async (req: Request) => c.connections.get(String(req.params.id));

  r.get('/connections/:id/directory/new', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'create:directories');
    const conn = await load(req);
    res.send(formPage(viewContext(req, res, 'connections'), conn, kindOf(queryString(req, 'kind')), {}, new Map()).value);
  });

  r.post('/connections/:id/pull-directory', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'create:directories');
    const conn = await load(req);
    const kind = kindOf(str(req.body, 'kind'));
    if (kind === 'scim') throw new AppError('invalid_body', 400, 'Choose Google Workspace or Microsoft Graph.');
    // The form comes back with its errors as a page like any other (200): a browser reports a 4xx
    // document as a failed load, and nothing about this answer is an error of the request's transport.
    const show = (errors: FieldErrors, formError?: string) =>
      res.send(formPage(viewContext(req, res, 'connections'), conn, kind, valuesOf(req.body), errors, formError).value);
    const parsed = createDirectoryBody.safeParse(createBody(conn.id, kind, req.body));
    if (!parsed.success) return show(fieldErrors(parsed.error.issues));
    const { kind: _k, ...input } = parsed.data;
    try {
      await c.pullDirectories.create({ ...input, kind }, actorOf(p));
    } catch (err) {
      if (err instanceof AppError && err.status < 500) return show(new Map(), err.message);
      throw err;
    }
    await redirectWith(req, res, `/admin/connections#c-${conn.id}-title`, { kind: 'ok', text: createdText(kind, input.name ?? conn.name) });
  });

  // A new client secret or service-account key replaces the stored one; validated by the API's PATCH schema.
  r.post('/directories/:id/credentials', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'update:directories');
    const dir = await c.directories.get(String(req.params.id));
    const back = `/admin/connections#c-${dir.connection_id}-title`;
    const body =
      dir.kind === 'microsoft_graph'
        ? { microsoft_graph: { client_secret: str(req.body, 'client_secret') } }
        : { google_workspace: { service_account_key: optional(str(req.body, 'service_account_key_file')) ?? optional(str(req.body, 'service_account_key')) ?? '' } };
    if (dir.kind === 'scim') throw new AppError('invalid_body', 400, 'A SCIM directory has tokens, not a secret: rotate its token instead.');
    const parsed = pullPatchBody.safeParse(body);
    if (!parsed.success) {
      await redirectWith(req, res, back, { kind: 'error', text: `Nothing changed: ${[...fieldErrors(parsed.error.issues).values()].join(' ')}` });
      return;
    }
    await c.pullDirectories.update(dir.id, parsed.data, actorOf(p));
    const what = dir.kind === 'microsoft_graph' ? 'client secret' : 'service account key';
    await redirectWith(req, res, back, { kind: 'ok', text: `The ${what} of \u201c${dir.name}\u201d was replaced. The next sync uses it.` });
  });
  return r;
}
