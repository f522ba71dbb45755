import { Router, type Request, type Response } from 'express';
import type { Container } from '../../../container.js';
import { conflict, invalidBody, isAppError } from '../../../platform/errors.js';
import { findMember } from '../../members/queries.js';
import { ROLES, type Role } from '../../memberships/types.js';
import { href } from '../html.js';
import { confirmPage } from '../layout.js';
import { queryString, redirectWith, viewContext } from '../context.js';
import { actorOf, principalOf, requireCan } from '../principal.js';
import { loadOrganization, type OrgContext } from './org-context.js';
import { noUserWithEmail, userByEmail } from '../user-lookup.js';
import { removeAllQuestion } from './members.js';
import { plural } from '../../memberships/labels.js';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const tabOf = (req: Request): 'active' | 'flagged' => (queryString(req, 'tab') === 'flagged' ? 'flagged' : 'active');
const back = (o: OrgContext, tab: 'active' | 'flagged') => href(o.base, { tab: tab === 'flagged' ? 'flagged' : undefined });
const field = (req: Request, name: string): string => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v.trim() : '';
};

/** A refused change (409 SSO-managed, limit reached, …) comes back as a message on the page it came from. */
async function attempt(req: Request, res: Response, to: string, fn: () => Promise<string>): Promise<void> {
  try {
    const text = await fn();
    await redirectWith(req, res, to, { kind: 'ok', text });
  } catch (err) {
    if (!isAppError(err) || err.status >= 500 || err.status === 404) throw err;
    await redirectWith(req, res, to, { kind: 'error', text: err.message });
  }
}

export function memberActions(c: Container): Router {
  const r = Router();

  async function memberOf(req: Request, res: Response) {
    const p = principalOf(res);
    requireCan(p, 'delete:organization_members');
    const o = await loadOrganization(c, p, String(req.params.org));
    const m = await findMember(c.db, o.org.id, String(req.params.user));
    return { p, o, m };
  }

  // The no-script confirmation page; with the script, the same question is a dialog.
  r.get('/organizations/:org/members/:user/remove', async (req, res) => {
    const { o, m } = await memberOf(req, res);
    if (!m) return redirectWith(req, res, back(o, tabOf(req)), { kind: 'error', text: 'That person is no longer a member.' });
    res.send(
      confirmPage(viewContext(req, res, 'organizations'), {
        title: 'Remove member',
        message: `Remove ${m.name ? `${m.name} (${m.email})` : m.email} from ${o.org.display_name}? Their account and other memberships are kept.${
          o.connection ? ' A removal record stops sign-ins from adding them back, even when the identity provider sends the granting group again; only a re-grant through its SCIM provisioning, or clearing the record (DELETE /api/v1/organizations/{org}/removals/{user}), lets them back.' : ''
        }`,
        action: href(`${o.base}/members/${encodeURIComponent(m.user_id)}/remove`, { tab: tabOf(req) }),
        confirmLabel: 'Remove member',
        cancelHref: back(o, tabOf(req)),
      }).value,
    );
  });

  r.post('/organizations/:org/members/:user/remove', async (req, res) => {
    const { p, o, m } = await memberOf(req, res);
    if (!m) return redirectWith(req, res, back(o, tabOf(req)), { kind: 'error', text: 'That person is no longer a member.' });
    await attempt(req, res, back(o, tabOf(req)), async () => {
      await c.members.removeOne(o.org.id, m.user_id, actorOf(p));
      return `Removed ${m.name ?? m.email} from ${o.org.display_name}.`;
    });
  });

  r.get('/organizations/:org/remove-flagged', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'delete:organization_members');
    const o = await loadOrganization(c, p, String(req.params.org));
    res.send(
      confirmPage(viewContext(req, res, 'organizations'), {
        title: 'Remove all flagged members',
        message: `${removeAllQuestion(o.counts.flagged, o.org.display_name)} ${o.counts.flagged === 1 ? 'Their account and other memberships are' : 'Their accounts and other memberships are'} kept.`,
        action: `${o.base}/remove-flagged`,
        confirmLabel: 'Remove all flagged',
        cancelHref: back(o, 'flagged'),
      }).value,
    );
  });

  r.post('/organizations/:org/remove-flagged', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'delete:organization_members');
    const o = await loadOrganization(c, p, String(req.params.org));
    await attempt(req, res, back(o, 'flagged'), async () => {
      const removed = await c.members.removeFlagged(o.org.id, actorOf(p));
      return `Removed ${plural(removed.length, 'flagged member')}.`;
    });
  });

  const roleOf = (req: Request): Role => {
    const role = field(req, 'role');
    return (ROLES as readonly string[]).includes(role) ? (role as Role) : 'member';
  };

  r.post('/organizations/:org/members/add', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'create:organization_members');
    const o = await loadOrganization(c, p, String(req.params.org));
    const email = field(req, 'email');
    await attempt(req, res, o.base, async () => {
      // Refused before any lookup: the answer for a governed organization says nothing about the email.
      if (o.connection) throw conflict('sso_managed_organization', `Organization "${o.org.name}" is managed by its SSO connection; members are added by the identity provider.`);
      const user = await userByEmail(c, p, email);
      if (!user) throw invalidBody(p.kind === 'sso' ? `${noUserWithEmail(p, email)} Invite them instead.` : `No user has the email "${email}". Invite them instead.`);
      await c.members.add(o.org.id, [user.id], roleOf(req), actorOf(p));
      return `Added ${user.email} as ${roleOf(req)}.`;
    });
  });

  r.post('/organizations/:org/invitations', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'create:organization_members');
    const o = await loadOrganization(c, p, String(req.params.org));
    const email = field(req, 'email');
    await attempt(req, res, o.base, async () => {
      if (!EMAIL.test(email) || email.length > 320) throw invalidBody(`"${email}" is not an email address.`);
      await c.members.invite(o.org.id, email, roleOf(req), actorOf(p));
      return `Invited ${email} as ${roleOf(req)}.`;
    });
  });

  return r;
}
