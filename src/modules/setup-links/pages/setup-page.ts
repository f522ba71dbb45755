import { PROVIDERS } from '../providers.js';
import type { SetupState } from '../setup-flow.js';
import type { TestOutcome } from '../draft.js';
import { CSRF_FIELD } from '../link-session.js';
import { copyable, esc, hidden } from './html.js';

const form = (action: string, csrf: string, inner: string, cls = ''): string =>
  `<form method="post" action="${esc(action)}"${cls ? ` class="${cls}"` : ''}>${hidden(CSRF_FIELD, csrf)}${inner}</form>`;

function outcomeText(o: TestOutcome, org: string): string {
  switch (o.kind) {
    case 'would_add': return `Would join ${org} as ${o.role}.`;
    case 'would_change_role': return `Already in ${org}; role would change from ${o.from} to ${o.to}.`;
    case 'would_keep': return `Already in ${org} as ${o.role}; nothing would change.`;
    case 'would_restore': return `A flagged membership in ${org} would be restored.`;
    case 'would_flag': return `The membership in ${org} would be flagged: no rule grants it any more.`;
    case 'no_access': return `No rule grants access to ${org}: the sign-in would succeed without a membership.`;
    case 'denied': return o.reason === 'no_email' ? 'Refused: the identity provider sent no email address.' : 'Refused: the email domain is not verified yet (see Domains).';
  }
}

function providerSection(s: SetupState, csrf: string): string {
  const choices = PROVIDERS.map((p) => `<li>${form('/setup/provider', csrf, `${hidden('provider', p.key)}<button type="submit"${s.provider?.key === p.key ? '' : ' class="secondary"'}>${esc(p.label)}</button>`)}</li>`).join('');
  return `<section id="provider"><h2>1. Your identity provider</h2>${s.provider ? `<p>Selected: <strong>${esc(s.provider.label)}</strong>. Choose another to switch.</p>` : '<p>Which identity provider does your company use?</p>'}<ul class="providers">${choices}</ul></section>`;
}

function configureSection(s: SetupState, csrf: string): string {
  if (!s.provider || !s.connection) return '';
  const steps = s.provider.steps.map((st) => `<li>${esc(st.text)}${st.value && s.sp[st.value] ? copyable(s.sp[st.value]!) : ''}</li>`).join('');
  const saved = s.connection.configured ? `<p class="notice">Saved: <code>${esc(s.connection.idp_summary ?? '')}</code>. Submit again to replace it.</p>` : '';
  const forms =
    s.connection.type === 'saml'
      ? form('/setup/saml', csrf, `<label for="metadata_url">Metadata URL</label><input type="url" id="metadata_url" name="metadata_url" placeholder="https://…" required><p><button type="submit">Fetch and save</button></p>`) +
        `<details><summary>Paste the metadata XML instead</summary>${form('/setup/saml', csrf, `<label for="metadata_xml">Metadata XML</label><textarea id="metadata_xml" name="metadata_xml" required></textarea><p><button type="submit">Save</button></p>`)}</details>` +
        `<details><summary>Enter the values by hand</summary>${form('/setup/saml', csrf, `<label for="entity_id">IdP entity ID (issuer)</label><input type="text" id="entity_id" name="entity_id" required><label for="sso_url">SSO URL (HTTP-Redirect)</label><input type="url" id="sso_url" name="sso_url" required><label for="certificate">Signing certificate (PEM)</label><textarea id="certificate" name="certificate" required></textarea><p><button type="submit">Save</button></p>`)}</details>`
      : form('/setup/oidc', csrf, `<label for="issuer">Issuer URL</label><input type="url" id="issuer" name="issuer" required><label for="client_id">Client ID</label><input type="text" id="client_id" name="client_id" required><label for="client_secret">Client secret</label><input type="password" id="client_secret" name="client_secret" autocomplete="off" required><label for="scopes">Scopes</label><input type="text" id="scopes" name="scopes" value="openid email profile"><p><button type="submit">Save</button></p>`);
  return `<section id="configure"><h2>2. Configure ${esc(s.provider.label)}</h2><ol class="steps">${steps}</ol>${saved}${forms}</section>`;
}

function domainsSection(s: SetupState, csrf: string): string {
  const rows = s.domains
    .map((d) => {
      const check = d.status === 'verified' ? '' : form(`/setup/domains/${encodeURIComponent(d.domain)}/check`, csrf, '<button type="submit">Check now</button>');
      const state = d.status === 'verified' ? '<span class="status-verified">Verified</span>' : `<span class="status-pending">${d.last_checked_at ? 'Not found yet' : 'Waiting for the record'}</span>`;
      return `<tr><td><strong>${esc(d.domain)}</strong><br>${state}</td><td>Type <code>TXT</code>, name${copyable(d.record_name)}value${copyable(d.record_value)}${check}</td></tr>`;
    })
    .join('');
  return `<section id="domains"><h2>3. Email domains</h2><p>Add each email domain your people sign in with, publish the TXT record shown in your DNS, then check it. DNS changes can take a few minutes to appear.</p>${rows ? `<table>${rows}</table>` : ''}${form('/setup/domains', csrf, `<label for="domain">Domain</label><div class="row"><input type="text" id="domain" name="domain" placeholder="example.com" required><button type="submit">Add domain</button></div>`)}</section>`;
}

function rolesSection(s: SetupState, csrf: string): string {
  const r = s.roles;
  const option = (v: string, label: string) => `<option value="${v}"${(r.everyone ?? '') === v ? ' selected' : ''}>${label}</option>`;
  const groups = (role: 'owner' | 'admin' | 'member') => `<label for="groups_${role}">Groups whose members become ${role}s</label><input type="text" id="groups_${role}" name="groups_${role}" value="${esc(r[role].join(', '))}" placeholder="comma-separated group names or ids">`;
  return `<section id="roles"><h2>4. Who gets access to ${esc(s.organization.display_name)}</h2>${form('/setup/roles', csrf, `<label for="everyone">Everyone who signs in</label><select id="everyone" name="everyone">${option('member', 'becomes a member')}${option('', 'gets access only through the groups below')}</select>${groups('owner')}${groups('admin')}${groups('member')}<p><button type="submit">Save roles</button></p>`)}</section>`;
}

function testSection(s: SetupState): string {
  if (!s.connection?.configured) return '';
  const login = `/sso/${s.connection.type}/${s.connection.id}/login?return_to=${encodeURIComponent('/setup#test')}`;
  const t = s.test;
  const result = t
    ? `<table><tr><th>Subject</th><td>${esc(t.subject)}</td></tr><tr><th>Email</th><td>${esc(t.email ?? '—')}</td></tr><tr><th>Name</th><td>${esc(t.name ?? '—')}</td></tr><tr><th>Groups</th><td>${t.groups.length ? t.groups.map(esc).join(', ') : '—'}</td></tr><tr><th>Result</th><td id="test-outcome">${esc(outcomeText(t.outcome, s.organization.display_name))}</td></tr></table><p class="muted">Tested ${esc(t.at)}. Nothing was created: no account, membership or session.</p>`
    : '<p class="muted">No test yet.</p>';
  return `<section id="test"><h2>5. Test sign-in</h2><p>Sign in through your identity provider to see what it sends and what would happen. Nothing is created.</p><p><a class="button" href="${esc(login)}">Test sign-in</a></p>${result}</section>`;
}

function directorySection(s: SetupState, csrf: string, created?: { scim_base_url: string; token: string }): string {
  const d = s.directory;
  const body = created
    ? `<p class="notice">Copy the token now: it is shown only once.</p><p>SCIM base URL${copyable(created.scim_base_url)}</p><p>Bearer token${copyable(created.token)}</p>`
    : d
      ? `<p>SCIM base URL${copyable(d.scim_base_url)}</p><p class="muted">The token was shown when the endpoint was created.</p>`
      : form('/setup/directory', csrf, '<button type="submit">Create the SCIM endpoint</button>');
  const status = d ? `<p>Status: <strong id="directory-status">${esc(directorySummary(d))}</strong></p>` : '';
  return `<section id="directory"><h2>Directory (SCIM provisioning)</h2>${body}${status}</section>`;
}

export function directorySummary(d: NonNullable<SetupState['directory']>, now = Date.now()): string {
  const ago = d.last_activity_at ? `last request ${Math.max(0, Math.round((now - Date.parse(d.last_activity_at)) / 1000))} s ago` : 'no request yet';
  return `received ${d.users} users, ${d.groups} groups, ${ago}`;
}

export function setupPageBody(s: SetupState, csrf: string, flash: { error?: string; notice?: string; created?: { scim_base_url: string; token: string } } = {}): string {
  const sso = s.link.intents.includes('sso');
  const finish = s.missing.length
    ? `<ul>${s.missing.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>`
    : form('/setup/finish', csrf, '<p>Everything is ready. Finishing turns single sign-on on for your organization.</p><button type="submit">Finish setup</button>');
  return (
    `<h1>Set up ${sso ? 'single sign-on' : 'directory sync'} for ${esc(s.organization.display_name)}</h1><p class="muted">This link expires ${esc(s.link.expires_at)}.</p>` +
    (flash.error ? `<p class="error" role="alert">${esc(flash.error)}</p>` : '') +
    (flash.notice ? `<p class="notice" role="status">${esc(flash.notice)}</p>` : '') +
    (sso ? providerSection(s, csrf) + configureSection(s, csrf) + domainsSection(s, csrf) + rolesSection(s, csrf) + testSection(s) : '') +
    (s.link.intents.includes('directory') ? directorySection(s, csrf, flash.created) : '') +
    `<section id="finish"><h2>Finish</h2>${finish}</section>`
  );
}
