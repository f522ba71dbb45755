import { html, type Renderable, type SafeHtml } from './html.js';
import { can, type AdminPrincipal } from './principal.js';
import { CSRF_FIELD } from './csrf.js';

export interface ViewContext {
  principal?: AdminPrincipal;
  csrf: string;
  flash?: { kind: 'ok' | 'error'; text: string };
  /** Which top navigation entry is current. */
  section?: 'organizations' | 'audit' | 'connections' | 'webhooks';
}

export const csrfField = (ctx: ViewContext): SafeHtml => html`<input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf}">`;

function nav(ctx: ViewContext): SafeHtml {
  const p = ctx.principal;
  if (!p) return html``;
  const link = (section: ViewContext['section'], path: string, label: string) =>
    html`<li><a href="${path}"${ctx.section === section ? html` aria-current="page"` : ''}>${label}</a></li>`;
  return html`<nav aria-label="Admin sections"><ul>
    ${can(p, 'read:organizations') ? link('organizations', '/admin/organizations', 'Organizations') : ''}
    ${can(p, 'read:audit_logs') ? link('audit', '/admin/audit', 'Audit log') : ''}
    ${can(p, 'read:connections') ? link('connections', '/admin/connections', 'Connections') : ''}
    ${can(p, 'read:webhooks') ? link('webhooks', '/admin/webhooks', 'Webhooks') : ''}
  </ul></nav>
  <form method="post" action="/admin/sign-out" class="sign-out">
    ${csrfField(ctx)}
    <span class="who">Signed in as <strong>${p.label}</strong></span>
    <button type="submit" class="secondary">Sign out</button>
  </form>`;
}

/** The confirmation dialog the small script opens for every `data-confirm` control. */
const confirmDialog = (ctx: ViewContext): SafeHtml => html`<dialog id="confirm-dialog" aria-labelledby="confirm-title" aria-describedby="confirm-message">
  <form method="post" class="confirm-form">
    ${csrfField(ctx)}
    <h2 id="confirm-title">Please confirm</h2>
    <p id="confirm-message"></p>
    <div class="actions">
      <button type="button" class="secondary" data-close>Cancel</button>
      <button type="submit" class="danger" data-confirm-submit>Confirm</button>
    </div>
  </form>
</dialog>`;

/** `refreshTo`: see sso-hand-off.ts. */
export function layout(ctx: ViewContext, title: string, body: Renderable, opts: { refreshTo?: string } = {}): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · orgsync admin</title>
<link rel="icon" href="/admin/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/admin/assets/admin.css">
<script src="/admin/assets/admin.js" defer></script>
${opts.refreshTo ? html`<meta http-equiv="refresh" content="0;url=${opts.refreshTo}">` : ''}
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/admin">orgsync <span>admin</span></a>
  ${nav(ctx)}
</header>
<main id="main" tabindex="-1">
  ${ctx.flash ? html`<p class="flash flash-${ctx.flash.kind}" role="${ctx.flash.kind === 'error' ? 'alert' : 'status'}">${ctx.flash.text}</p>` : ''}
  ${body}
</main>
${ctx.principal ? confirmDialog(ctx) : ''}
</body>
</html>`;
}

/** A `Remove`-style control: a link to the no-script confirmation page that the script turns into a dialog. */
export function confirmLink(opts: { href: string; action: string; message: string; label: string; confirmLabel: string; accessibleLabel?: string }): SafeHtml {
  return html`<a class="button danger" href="${opts.href}" data-confirm="${opts.message}" data-action="${opts.action}" data-confirm-label="${opts.confirmLabel}"${
    opts.accessibleLabel ? html` aria-label="${opts.accessibleLabel}"` : ''
  }>${opts.label}</a>`;
}

/** The no-script fallback: a page that asks the same question as the dialog. */
export function confirmPage(ctx: ViewContext, opts: { title: string; message: string; action: string; confirmLabel: string; cancelHref: string }): SafeHtml {
  return layout(ctx, opts.title, html`<section class="card narrow" aria-labelledby="confirm-page-title">
    <h1 id="confirm-page-title">${opts.title}</h1>
    <p>${opts.message}</p>
    <form method="post" action="${opts.action}" class="actions">
      ${csrfField(ctx)}
      <a class="button secondary" href="${opts.cancelHref}">Cancel</a>
      <button type="submit" class="danger">${opts.confirmLabel}</button>
    </form>
  </section>`);
}

export const formatTime = (iso: string | null | undefined): SafeHtml =>
  iso ? html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}</time>` : html`<span class="muted">—</span>`;

/** A read-only value with a copy button (the button appears only when the script runs). */
export function copyField(id: string, label: string, value: string): SafeHtml {
  return html`<div class="setting">
    <label for="${id}">${label}</label>
    <input id="${id}" value="${value}" readonly spellcheck="false">
    <button type="button" class="secondary" data-copy="${id}" hidden aria-label="Copy ${label}">Copy</button>
    <span id="${id}-status" class="copy-status" role="status" aria-live="polite"></span>
  </div>`;
}
