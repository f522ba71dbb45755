import type { AuditEvent } from '../../audit/types.js';
import { flagReasonLabel } from '../../memberships/labels.js';
import { html, href, type SafeHtml } from '../html.js';
import type { AuditNames } from './audit-names.js';

/**
 * One audit event as a sentence: who did what to whom, and why. Every name comes from the stored
 * event or a lookup and is escaped by `html`; ids stay one hover or one click away.
 */
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function actor(e: AuditEvent, n: AuditNames): SafeHtml {
  const id = e.actor.id;
  switch (e.actor.type) {
    case 'api_key': {
      const name = id ? n.apiKeys.get(id) : undefined;
      return n.operatorView && name ? html`API key <strong>“${name}”</strong>` : html`An API key`;
    }
    case 'admin_page': {
      if (id && n.apiKeys.has(id)) return n.operatorView ? html`API key <strong>“${n.apiKeys.get(id)}”</strong> on the admin page` : html`An administrator on the admin page`;
      const user = id ? n.users.get(id) : undefined;
      return user ? html`${person(id!, n)} on the admin page` : html`Someone on the admin page`;
    }
    case 'scim': {
      const name = id ? n.directories.get(id) : undefined;
      return name ? html`The identity provider, through SCIM directory <strong>“${name}”</strong>,` : html`The identity provider, through SCIM,`;
    }
    case 'login': {
      const name = id ? n.connections.get(id) : undefined;
      return name ? html`Login sync for <strong>${name}</strong>` : html`Login sync`;
    }
    case 'cli':
      return n.operatorView && id ? html`CLI user <strong>${id}</strong>` : html`The orgsync command line`;
    default:
      return html`orgsync`;
  }
}

/** "Ada Lovelace (ada@acme.com)" with the user id on hover; the id itself when the user is gone. */
function person(id: string, n: AuditNames): SafeHtml {
  const u = n.users.get(id);
  if (!u) return html`<span class="who mono small" title="User id ${id}">user ${id}</span>`;
  return html`<span class="who" title="User id ${id}">${u.name ? html`<strong>${u.name}</strong> (${u.email})` : html`<strong>${u.email}</strong>`}</span>`;
}

function organization(e: AuditEvent, n: AuditNames): SafeHtml {
  if (!e.organization_id) return html`an organization`;
  const o = n.organizations.get(e.organization_id);
  const name = o?.display_name ?? str(e.detail.name) ?? e.organization_id;
  return html`<a href="${href('/admin/audit', { organization: o?.name ?? e.organization_id })}">${name}</a>`;
}

const role = (v: unknown) => str(v) ?? 'member';

function connectionName(e: AuditEvent, n: AuditNames): SafeHtml {
  const id = str(e.detail.connection_id);
  const name = str(e.detail.name) ?? (id ? n.connections.get(id) : undefined);
  return name ? html`<strong>${name}</strong>` : html`a connection`;
}

/** What the change was, after the actor: "flagged Ada (ada@…) in Acme: deactivated in the IdP". */
function what(e: AuditEvent, n: AuditNames): SafeHtml {
  const d = e.detail;
  const user = e.target_user_id ? person(e.target_user_id, n) : html`someone`;
  const org = organization(e, n);
  switch (e.action) {
    case 'membership.added':
      return html`added ${user} to ${org} as ${role(d.role)}`;
    case 'membership.role_changed':
      return html`changed the role of ${user} in ${org} from ${role(d.from_role)} to ${role(d.to_role)}`;
    case 'membership.flagged':
      return html`flagged the membership of ${user} in ${org}: ${lower(flagReasonLabel(str(d.reason) ?? 'flagged'))}`;
    case 'membership.restored':
      return html`restored the access of ${user} to ${org}${str(d.previous_reason) ? html` (it was flagged: ${lower(flagReasonLabel(str(d.previous_reason)!))})` : ''}`;
    case 'membership.removed':
      return html`removed ${user} from ${org}${d.status === 'flagged' && str(d.flagged_reason) ? html`, who was flagged: ${lower(flagReasonLabel(str(d.flagged_reason)!))}` : ''}${
        d.removal_record ? html`; sign-ins will not add them back, even with the granting group, until a SCIM re-grant or an admin clears the removal record` : ''
      }`;
    case 'removal.cleared':
      return html`cleared the removal record of ${user} in ${org}: login sync may add them again`;
    case 'user.provisioned':
      return html`created the account of ${user}`;
    case 'user.updated':
      return html`updated ${user}`;
    case 'user.deactivated':
      return html`deactivated ${user}`;
    case 'user.reactivated':
      return html`reactivated ${user}`;
    case 'user.deleted':
      return html`deleted ${user} from the directory (the account is kept)`;
    case 'login.succeeded':
      return html`signed in ${user}`;
    case 'login.denied':
      return html`refused the sign-in of ${e.target_user_id ? user : html`<strong>${str(d.email) ?? 'someone'}</strong>`}: ${str(d.reason) ?? 'denied'}`;
    case 'organization.created':
      return html`created the organization ${org}`;
    case 'organization.updated':
      return html`updated the organization ${org}${changes(d.changes)}`;
    case 'organization.deleted':
      return html`deleted the organization <strong>${str(d.name) ?? e.organization_id ?? ''}</strong>`;
    case 'connection.created':
      return html`created the connection ${connectionName(e, n)}`;
    case 'connection.updated':
      return html`updated the connection ${connectionName(e, n)}${changes(d.changes)}${d.idp_changed ? html` and its identity provider settings` : ''}`;
    case 'connection.deleted':
      return html`deleted the connection ${connectionName(e, n)}`;
    case 'connection.metadata_refreshed': {
      const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
      return html`refreshed the IdP metadata of ${connectionName(e, n)}: ${count(d.certificates_added)} signing certificate(s) added, ${count(d.certificates_removed)} removed${d.sso_url ? html`, SSO URL changed` : ''}`;
    }
    case 'connection.metadata_refresh_failed':
      return html`could not refresh the IdP metadata of ${connectionName(e, n)}: ${str(d.error) ?? 'failed'} (the last good metadata stays in use)`;
    case 'connection.sp_key_created':
      return html`created the ${str(d.use) ?? ''} key of ${connectionName(e, n)}`;
    case 'connection.sp_key_rotated':
      return html`rotated the ${str(d.use) ?? ''} key of ${connectionName(e, n)}${d.retire_after ? html` (the previous one counts until ${str(d.retire_after) ?? ''})` : html` (the previous one counts until it is retired)`}`;
    case 'connection.sp_key_retired':
      return html`retired the previous ${str(d.use) ?? ''} key of ${connectionName(e, n)}${d.reason === 'overlap_ended' ? ' (its overlap ended)' : ''}`;
    case 'directory.created':
      return html`created a SCIM directory for ${connectionName(e, n)}`;
    case 'directory.token_rotated':
      return html`rotated the token of SCIM directory <strong>${n.directories.get(str(d.directory_id) ?? '') ?? str(d.directory_id) ?? ''}</strong>`;
    case 'api_key.created':
      return html`created the API key <strong>“${str(d.name) ?? ''}”</strong>`;
    case 'api_key.revoked':
      return html`revoked the API key <strong>“${str(d.name) ?? ''}”</strong>`;
    case 'invitation.created':
      return html`invited <strong>${str(d.email) ?? ''}</strong> to ${org} as ${role(d.role)}`;
    case 'webhook.created':
      return html`added the webhook endpoint <code>${str(d.url) ?? ''}</code>`;
    case 'webhook.updated':
      return html`updated a webhook endpoint`;
    case 'webhook.deleted':
      return html`deleted a webhook endpoint`;
    case 'webhook.disabled':
      return html`disabled a webhook endpoint after its deliveries kept failing`;
    case 'webhook.redelivery_requested':
      return html`asked for a webhook delivery to be sent again`;
    default:
      return html`recorded <code>${e.action}</code>${e.target_user_id ? html` for ${user}` : ''}${e.organization_id ? html` in ${org}` : ''}`;
  }
}

/**
 * `: display name “Globex 2”, membership rules` for the fields a change set: short values inline,
 * lists and objects by name only (the whole change is in the details).
 */
function changes(v: unknown): SafeHtml {
  if (!v || typeof v !== 'object') return html``;
  const value = (val: unknown) =>
    typeof val === 'string' ? html` “${val.length > 80 ? `${val.slice(0, 80)}…` : val}”` : typeof val === 'number' || typeof val === 'boolean' ? html` ${String(val)}` : html``;
  const parts = Object.entries(v as Record<string, unknown>).map(([k, val]) => html`${k.replace(/_/g, ' ')}${value(val)}`);
  return parts.length ? html`: ${parts.map((x, i) => html`${i ? ', ' : ''}${x}`)}` : html``;
}

export function auditSentence(e: AuditEvent, n: AuditNames): SafeHtml {
  // login.succeeded reads better with the user first: "Ada signed in through acme-okta".
  if (e.action === 'login.succeeded' && e.target_user_id) {
    const via = e.actor.id ? n.connections.get(e.actor.id) : undefined;
    return html`${person(e.target_user_id, n)} signed in${via ? html` through <strong>${via}</strong>` : ''}.`;
  }
  return html`${actor(e, n)} ${what(e, n)}.`;
}

/** The evidence of a flag (what the IdP did, when, through which channel), for the expandable part. */
export function evidenceOf(e: AuditEvent): Record<string, unknown> | null {
  const ev = e.detail.evidence;
  return ev && typeof ev === 'object' ? (ev as Record<string, unknown>) : null;
}
