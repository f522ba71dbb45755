import { Router } from 'express';
import type { Container } from '../../../container.js';
import { cursorOf } from '../../../http/pagination.js';
import type { Member } from '../../members/queries.js';
import { html, href, type SafeHtml } from '../html.js';
import { confirmLink, csrfField, formatTime, layout, type ViewContext } from '../layout.js';
import { queryString, viewContext } from '../context.js';
import { can, principalOf, requireCan, type AdminPrincipal } from '../principal.js';
import { evidenceText, loadOrganization, orgHeader, reasonLabel, type OrgContext } from './org-context.js';

const PAGE_SIZE = 50;
type Tab = 'active' | 'flagged';

const who = (m: Member) => (m.name ? `${m.name} (${m.email})` : m.email);

/** "Remove the flagged member from Acme?" or "Remove all 3 flagged members from Acme?" */
export const removeAllQuestion = (n: number, organization: string): string =>
  n === 1 ? `Remove the flagged member from ${organization}?` : `Remove all ${n} flagged members from ${organization}?`;

/** The line an SSO-governed organization shows instead of add and invite controls. */
const removalNote = (o: OrgContext) =>
  o.connection
    ? ' Their account and other memberships are kept. A removal record stops sign-ins from adding them back, even when the identity provider sends the granting group again; only a re-grant through its SCIM provisioning, or clearing the record (DELETE /api/v1/organizations/{org}/removals/{user}), lets them back.'
    : ' Their account and other memberships are kept.';

export function removeControl(o: OrgContext, m: Member, tab: Tab): SafeHtml {
  const path = `${o.base}/members/${encodeURIComponent(m.user_id)}/remove`;
  return confirmLink({
    href: href(path, { tab }),
    action: href(path, { tab }),
    message: `Remove ${who(m)} from ${o.org.display_name}?${removalNote(o)}`,
    label: 'Remove',
    confirmLabel: 'Remove member',
    accessibleLabel: `Remove ${who(m)}`,
  });
}

function memberRow(p: AdminPrincipal, o: OrgContext, m: Member, tab: Tab): SafeHtml {
  return html`<tr>
    <th scope="row">${m.name ?? m.email}${m.name ? html`<br><span class="muted small">${m.email}</span>` : ''}</th>
    <td data-label="Role">${m.role}</td>
    <td data-label="Source">${m.source}</td>
    ${tab === 'flagged'
      ? html`<td data-label="Reason">${reasonLabel(m.flagged_reason)}</td>
        <td data-label="Evidence">${evidenceText(m.flag_evidence)}</td>
        <td data-label="Flagged at">${formatTime(m.flagged_at)}</td>`
      : html`<td data-label="Joined">${formatTime(m.joined_at)}</td>
        <td data-label="Last login">${formatTime(m.last_login_at)}</td>`}
    ${can(p, 'delete:organization_members') ? html`<td class="actions-cell">${removeControl(o, m, tab)}</td>` : ''}
  </tr>`;
}

function addControls(ctx: ViewContext, o: OrgContext): SafeHtml {
  const p = ctx.principal!;
  if (o.connection) {
    return html`<p class="note" id="idp-managed">Members of this organization come from the identity provider through the
      <strong>${o.connection.name}</strong> connection: add people there (they join at their next sign-in). Flagged members can be removed here.</p>`;
  }
  if (!can(p, 'create:organization_members')) return html``;
  const roles = html`<option value="member">member</option><option value="admin">admin</option><option value="owner">owner</option>`;
  return html`<section class="card" aria-labelledby="add-title">
    <h2 id="add-title">Add people</h2>
    <div class="two-forms">
      <form method="post" action="${o.base}/members/add" class="stack">
        ${csrfField(ctx)}
        <label for="add-email">Existing user's email</label>
        <input id="add-email" name="email" type="email" required autocomplete="off">
        <label for="add-role">Role</label>
        <select id="add-role" name="role">${roles}</select>
        <button type="submit">Add member</button>
      </form>
      <form method="post" action="${o.base}/invitations" class="stack">
        ${csrfField(ctx)}
        <label for="invite-email">Invite by email</label>
        <input id="invite-email" name="email" type="email" required autocomplete="off">
        <label for="invite-role">Role</label>
        <select id="invite-role" name="role">${roles}</select>
        <button type="submit" class="secondary">Send invitation</button>
      </form>
    </div>
  </section>`;
}

function membersPage(ctx: ViewContext, o: OrgContext, tab: Tab, members: Member[], next: string | null): SafeHtml {
  const p = ctx.principal!;
  const tabLink = (t: Tab, label: string, n: number) =>
    html`<a href="${href(o.base, { tab: t === 'active' ? undefined : t })}"${tab === t ? html` aria-current="page"` : ''}>${label} <span class="count${t === 'flagged' && n > 0 ? ' count-flagged' : ''}">${n}</span></a>`;
  const canRemove = can(p, 'delete:organization_members');
  const head =
    tab === 'flagged'
      ? html`<th scope="col">Reason</th><th scope="col">Evidence</th><th scope="col">Flagged at</th>`
      : html`<th scope="col">Joined</th><th scope="col">Last login</th>`;
  return layout(ctx, `${o.org.display_name} members`, html`${orgHeader(p, o, 'members')}
    ${addControls(ctx, o)}
    <nav class="tabs" aria-label="Member status">
      ${tabLink('active', 'Active', o.counts.active)}
      ${tabLink('flagged', 'Flagged', o.counts.flagged)}
    </nav>
    ${tab === 'flagged'
      ? html`<div class="toolbar">
        <p class="help">Flagged members lost access when the identity provider removed them; they stay listed until removed here or restored by the IdP.</p>
        ${canRemove && o.counts.flagged > 0
          ? confirmLink({
              href: `${o.base}/remove-flagged`,
              action: `${o.base}/remove-flagged`,
              message: `${removeAllQuestion(o.counts.flagged, o.org.display_name)}${removalNote(o)}`,
              label: 'Remove all flagged',
              confirmLabel: 'Remove all flagged',
            })
          : ''}
      </div>`
      : ''}
    ${members.length === 0
      ? html`<p class="empty">${tab === 'flagged' ? 'No flagged members. Nothing needs removing.' : 'No active members.'}</p>`
      : html`<div class="table-wrap"><table class="stack-sm members">
        <caption class="visually-hidden">${tab === 'flagged' ? 'Flagged' : 'Active'} members of ${o.org.display_name}</caption>
        <thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Source</th>${head}${canRemove ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : ''}</tr></thead>
        <tbody>${members.map((m) => memberRow(p, o, m, tab))}</tbody>
      </table></div>`}
    ${next ? html`<nav class="pager" aria-label="Pages"><a rel="next" href="${href(o.base, { tab, from: next })}">Next page</a></nav>` : ''}`);
}

export function memberPages(c: Container): Router {
  const r = Router();
  r.get('/organizations/:org', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'read:organization_members');
    const o = await loadOrganization(c, p, String(req.params.org));
    const tab: Tab = queryString(req, 'tab') === 'flagged' ? 'flagged' : 'active';
    const page = await c.members.list(o.org.id, { status: tab, after: cursorOf(queryString(req, 'from'), 'user_id'), take: PAGE_SIZE });
    res.send(membersPage(viewContext(req, res, 'organizations'), o, tab, page.items, page.next).value);
  });
  return r;
}
