import type { Me } from './me.js';
import { escapeHtml as h } from './web.js';

/** The small page a user lands on after signing in: access, flagged access, what the sync changed. */
export function accountPageBody(me: Me, orgNames: Map<string, string>, logoutAction: string): string {
  const name = (id: string) => h(orgNames.get(id) ?? id);
  const orgs = me.organizations.length
    ? `<table><tr><th>Organization</th><th>Role</th></tr>${me.organizations.map((o) => `<tr><td>${h(o.display_name)} <span class="muted">(${h(o.name)})</span></td><td>${h(o.role)}</td></tr>`).join('')}</table>`
    : '<p class="muted">You are not a member of any organization.</p>';
  const flagged = me.flagged.length
    ? `<h2>Flagged access</h2><p>Your identity provider no longer grants these; an administrator will review them.</p><table><tr><th>Organization</th><th>Role</th><th>Reason</th><th>Since</th></tr>${me.flagged
        .map((f) => `<tr><td>${h(f.name)}</td><td>${h(f.role)}</td><td>${h(f.reason ?? '')}</td><td>${h(f.flagged_at ?? '')}</td></tr>`)
        .join('')}</table>`
    : '';
  const run = me.last_sync_run;
  const lines: string[] = [];
  if (run) {
    for (const a of run.added) lines.push(`Added to ${name(a.organization_id)} as ${h(a.role)}`);
    for (const u of run.updated) lines.push(`Role in ${name(u.organization_id)} changed from ${h(u.from_role)} to ${h(u.to_role)}`);
    for (const r of run.restored) lines.push(`Access to ${name(r.organization_id)} restored`);
    for (const f of run.flagged) lines.push(`Access to ${name(f.organization_id)} flagged (${h(f.reason)})`);
    for (const s of run.skipped) lines.push(`Not added to ${name(s.organization_id)} (${h(s.reason)})`);
  }
  const sync = run
    ? `<h2>Last sync</h2><p class="muted">${h(run.trigger)} at ${h(run.at)}</p>${lines.length ? `<ul>${lines.map((l) => `<li>${l}</li>`).join('')}</ul>` : '<p>Nothing changed.</p>'}`
    : '';
  return (
    `<h1>Signed in as ${h(me.user.name ?? me.user.email)}</h1><p class="muted">${h(me.user.email)}</p>` +
    `<h2>Your organizations</h2>${orgs}${flagged}${sync}` +
    `<form method="post" action="${h(logoutAction)}"><button type="submit">Sign out</button></form>`
  );
}
