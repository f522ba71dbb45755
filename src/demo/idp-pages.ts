import type { DemoDirectory, DemoPerson } from './directory.js';
import { escapeXml as h } from './saml-response.js';

/** FOR DEMONSTRATION ONLY: the demo IdP's pages (its "admin console" and its sign-in chooser). */
const STYLE =
  'body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}' +
  '.banner{background:#fff3cd;border:1px solid #e0b200;padding:.6rem 1rem;border-radius:6px}' +
  'table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}' +
  'button{cursor:pointer;margin:.1rem}form{display:inline}.muted{color:#666}.msg{background:#e8f4ff;border:1px solid #7ab8ff;padding:.5rem 1rem;border-radius:6px}' +
  'code{background:#f4f4f4;padding:0 .2rem;word-break:break-all}.off{color:#a00;font-weight:600}';

export function layout(title: string, body: string): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${h(title)}</title><style>${STYLE}</style></head><body>` +
    '<p class="banner"><strong>Demo identity provider — for demonstration only.</strong> It accepts anyone without a password, ' +
    'uses keys made at start-up, and must never be used for real sign-ins.</p>' +
    `${body}</body></html>`
  );
}

export interface ConsoleLinks {
  orgsyncUrl: string;
  samlLoginUrl: string;
  oidcLoginUrl: string;
  adminUrl: string;
}

const button = (csrf: string, action: string, label: string, fields: Record<string, string>) =>
  `<form method="post" action="/actions/${action}"><input type="hidden" name="csrf" value="${h(csrf)}">` +
  Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${h(k)}" value="${h(v)}">`)
    .join('') +
  `<button type="submit">${h(label)}</button></form>`;

function personRow(p: DemoPerson, groups: string[], csrf: string): string {
  const inGroups = p.groups.map((g) => `<div>${h(g)} ${button(csrf, 'remove-group', 'Remove from group', { person: p.key, group: g })}</div>`).join('');
  const addable = groups.filter((g) => !p.groups.includes(g)).map((g) => button(csrf, 'add-group', `Add to ${g}`, { person: p.key, group: g }));
  const status = p.active
    ? `active ${button(csrf, 'deactivate', 'Deactivate', { person: p.key })}`
    : `<span class="off">deactivated</span> ${button(csrf, 'reactivate', 'Reactivate', { person: p.key })}`;
  return `<tr><td>${h(p.givenName)} ${h(p.familyName)}<div class="muted">${h(p.email)}</div></td><td>${inGroups || '<span class="muted">none</span>'}<div>${addable.join('')}</div></td><td>${status}</td></tr>`;
}

export function consolePage(dir: DemoDirectory, links: ConsoleLinks, csrf: string, message: string | null): string {
  const calls = dir.calls
    .map((c) => `<tr><td class="muted">${h(c.at.slice(11, 19))}</td><td><code>${h(c.method)} ${h(c.path)}</code>${c.body ? `<div class="muted"><code>${h(JSON.stringify((c.body as { Operations?: unknown }).Operations ?? c.body))}</code></div>` : ''}</td><td>${c.status}</td></tr>`)
    .join('');
  return layout(
    'Demo IdP',
    '<h1>Demo IdP: Acme (SAML + SCIM) and Globex (OpenID Connect)</h1>' +
      (message ? `<p class="msg">${h(message)}</p>` : '') +
      '<h2>1. Sign in to orgsync</h2><ul>' +
      `<li><a href="${h(links.samlLoginUrl)}">Sign in with SAML</a> as an Acme person (pick who on the next page), then see <a href="${h(links.orgsyncUrl)}/account">/account</a>.</li>` +
      `<li><a href="${h(links.oidcLoginUrl)}">Sign in with OpenID Connect</a> as <code>dave</code> (any password) for Globex.</li></ul>` +
      '<h2>2. Change something at the IdP</h2><p>Each button sends the SCIM request a real IdP would send to orgsync (listed below). ' +
      `Then reload <a href="${h(links.orgsyncUrl)}/account">/account</a> and open <a href="${h(links.adminUrl)}">/admin</a> to see the flag and remove it.</p>` +
      `<table><tr><th>Person</th><th>Groups</th><th>Status</th></tr>${dir.people.map((p) => personRow(p, dir.groups, csrf)).join('')}</table>` +
      `<h2>SCIM requests sent to orgsync</h2>${calls ? `<table><tr><th>Time</th><th>Request</th><th>Status</th></tr>${calls}</table>` : '<p class="muted">None yet.</p>'}`,
  );
}

/** The IdP's sign-in page for a SAML AuthnRequest: pick a person (no password in the demo). */
export function chooserPage(dir: DemoDirectory, fields: Record<string, string>): string {
  const hidden = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${h(k)}" value="${h(v)}">`)
    .join('');
  const rows = dir.people
    .map((p) =>
      p.active
        ? `<li><form method="post" action="/saml/continue">${hidden}<input type="hidden" name="person" value="${h(p.key)}"><button type="submit">Continue as ${h(p.givenName)} ${h(p.familyName)}</button></form> <span class="muted">${h(p.email)} — groups: ${h(p.groups.join(', ') || 'none')}</span></li>`
        : `<li class="muted">${h(p.givenName)} ${h(p.familyName)} is deactivated at the IdP and cannot sign in.</li>`,
    )
    .join('');
  return layout('Demo IdP sign-in', `<h1>Sign in to orgsync (Acme, SAML)</h1><p>Who is signing in?</p><ul>${rows}</ul>`);
}
