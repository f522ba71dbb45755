import { humanTime } from '../../platform/human-time.js';
import { flagReasonLabel, roleLabel, SKIP_REASON_LABELS } from '../memberships/labels.js';
import type { SkipReason } from '../memberships/types.js';
import type { Me } from './me.js';
import { escapeHtml as h } from './web.js';

const time = (iso: string | null | undefined): string => (iso ? `<time datetime="${h(iso)}">${h(humanTime(iso))}</time>` : '');

const TRIGGERS: Record<string, string> = {
  login: 'Your sign-in',
  scim: 'A change sent by your identity provider',
  reconcile: 'A directory check',
};

/** The small page a user lands on after signing in: access, flagged access, what the sync changed. */
export function accountPageBody(me: Me, orgNames: Map<string, string>, logoutAction: string): string {
  const name = (id: string) => h(orgNames.get(id) ?? id);
  const orgs = me.organizations.length
    ? `<ul class="items">${me.organizations
        .map((o) => `<li><strong>${h(o.display_name)}</strong> <span class="badge">${h(roleLabel(o.role))}</span></li>`)
        .join('')}</ul>`
    : '<p class="muted">You are not a member of any organization.</p>';
  const flagged = me.flagged.length
    ? '<h2>Flagged access</h2><p>Your identity provider no longer grants these, so you cannot use them; an administrator will review them.</p>' +
      `<ul class="items">${me.flagged
        .map(
          (f) =>
            `<li class="flag"><strong>${h(f.display_name)}</strong> <span class="badge">${h(roleLabel(f.role))}</span><br>` +
            `<span class="badge badge-flag">${h(f.reason ? flagReasonLabel(f.reason) : 'Flagged')}</span>${f.flagged_at ? ` <span class="muted">since ${time(f.flagged_at)}</span>` : ''}</li>`,
        )
        .join('')}</ul>`
    : '';
  const run = me.last_sync_run;
  const lines: string[] = [];
  if (run) {
    for (const a of run.added) lines.push(`Added to ${name(a.organization_id)} as ${h(roleLabel(a.role).toLowerCase())}`);
    for (const u of run.updated) lines.push(`Role in ${name(u.organization_id)} changed from ${h(roleLabel(u.from_role).toLowerCase())} to ${h(roleLabel(u.to_role).toLowerCase())}`);
    for (const r of run.restored) lines.push(`Access to ${name(r.organization_id)} restored`);
    for (const f of run.flagged) lines.push(`Access to ${name(f.organization_id)} flagged: ${h(flagReasonLabel(f.reason).toLowerCase())}`);
    for (const s of run.skipped) lines.push(`Not added to ${name(s.organization_id)}: ${h(SKIP_REASON_LABELS[s.reason as SkipReason] ?? s.reason)}`);
  }
  const sync = run
    ? `<h2>Last sync</h2><p class="muted">${h(TRIGGERS[run.trigger] ?? run.trigger)}, ${time(run.at)}</p>${lines.length ? `<ul>${lines.map((l) => `<li>${l}</li>`).join('')}</ul>` : '<p>Nothing changed.</p>'}`
    : '';
  return (
    `<h1>Signed in as ${h(me.user.name ?? me.user.email)}</h1><p class="muted">${h(me.user.email)}</p>` +
    `<h2>Your organizations</h2>${orgs}${flagged}${sync}` +
    `<form method="post" action="${h(logoutAction)}"><button type="submit" class="secondary">Sign out</button></form>`
  );
}

/**
 * Not signed in: the work email finds the connection that verified its domain (`GET /sso/start`),
 * which hands the browser to that identity provider and back to `returnTo`.
 */
export function signInBody(opts: { returnTo: string; email?: string; error?: string; heading?: string }): string {
  return (
    `<h1>${h(opts.heading ?? 'Sign in')}</h1>` +
    '<p>Sign in through your organization’s identity provider to see your organizations and access.</p>' +
    (opts.error ? `<p class="error" role="alert" id="sign-in-error">${h(opts.error)}</p>` : '') +
    '<form method="get" action="/sso/start" class="card">' +
    `<input type="hidden" name="return_to" value="${h(opts.returnTo)}">` +
    '<label for="email">Work email</label>' +
    `<input id="email" name="email" type="email" autocomplete="email" required value="${h(opts.email ?? '')}"${opts.error ? ' aria-invalid="true" aria-describedby="sign-in-error"' : ''}>` +
    '<button type="submit">Continue with SSO</button></form>' +
    '<p class="muted">Administrators with an API key: <a href="/admin">the admin page</a>.</p>'
  );
}
