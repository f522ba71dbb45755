import type { Container } from '../../container.js';
import { actorOf } from '../../http/api-auth.js';
import type { ApiRouter } from '../../http/api-router.js';
import { cursorOf, listOf } from '../../http/pagination.js';
import { invalidBody } from '../../platform/errors.js';
import {
  addMembersBody,
  invitationBody,
  invitationSchema,
  listMembersQuery,
  memberSchema,
  removeMembersBody,
  removeMembersQuery,
  setRoleBody,
} from './schema.js';

const tag = 'Members';

export function memberRoutes(c: Container, api: ApiRouter): void {
  api.get(
    '/organizations/:org/members',
    { tag, summary: 'List members by status (active, flagged or all)', scopes: ['read:organization_members'], query: listMembersQuery, response: listOf('members', memberSchema) },
    async (_req, res, { params, query }) => {
      const page = await c.members.list(params.org!, { status: query.status, after: cursorOf(query.from, 'user_id'), take: query.take });
      res.json({ members: page.items, next: page.next });
    },
  );

  api.post(
    '/organizations/:org/members',
    {
      tag,
      summary: 'Add members to an organization no SSO connection governs',
      description: '409 sso_managed_organization for SSO-enabled organizations; 409 membership_limit_exceeded past the per-user limit. All or nothing.',
      scopes: ['create:organization_members'],
      body: addMembersBody,
      status: 204,
      response: 'empty',
    },
    async (_req, res, { params, body }) => {
      await c.members.add(params.org!, body.members, body.role, actorOf(res));
      res.status(204).end();
    },
  );

  api.post(
    '/organizations/:org/invitations',
    { tag, summary: 'Invite someone by email (organizations no SSO connection governs)', scopes: ['create:organization_members'], body: invitationBody, response: invitationSchema },
    async (_req, res, { params, body }) => {
      res.status(201).json(await c.members.invite(params.org!, body.email, body.role, actorOf(res)));
    },
  );

  api.delete(
    '/organizations/:org/members',
    {
      tag,
      summary: 'Remove 1–1000 members, or every flagged member with ?status=flagged',
      description:
        'Removes only those memberships: accounts and other memberships are kept. All or nothing: ids that are not members are a 400 naming them. In SSO-governed organizations a removal record keeps login sync from re-adding them.',
      scopes: ['delete:organization_members'],
      body: removeMembersBody,
      query: removeMembersQuery,
      status: 204,
      response: 'empty',
    },
    async (_req, res, { params, body, query }) => {
      if (query.status === 'flagged') {
        if (body.members) throw invalidBody('Invalid request body: members: give either ?status=flagged or a members list, not both.');
        await c.members.removeFlagged(params.org!, actorOf(res));
      } else {
        if (!body.members) throw invalidBody('Invalid request body: members: required (1 to 1000 user ids), or use ?status=flagged.');
        await c.members.remove(params.org!, body.members, actorOf(res));
      }
      res.status(204).end();
    },
  );

  api.delete(
    '/organizations/:org/members/:user',
    { tag, summary: 'Remove one member (404 if not a member)', scopes: ['delete:organization_members'], status: 204, response: 'empty' },
    async (_req, res, { params }) => {
      await c.members.removeOne(params.org!, params.user!, actorOf(res));
      res.status(204).end();
    },
  );

  api.patch(
    '/organizations/:org/members/:user',
    {
      tag,
      summary: "Change a member's role",
      description: '409 role_managed_by_idp when the governing connection has roles_managed_by: idp.',
      scopes: ['update:organization_members'],
      body: setRoleBody,
      response: memberSchema,
    },
    async (_req, res, { params, body }) => {
      res.json(await c.members.setRole(params.org!, params.user!, body.role, actorOf(res)));
    },
  );

  api.delete(
    '/organizations/:org/removals/:user',
    { tag, summary: 'Clear a removal record so login sync may add the member again', scopes: ['delete:organization_members'], status: 204, response: 'empty' },
    async (_req, res, { params }) => {
      await c.members.clearRemoval(params.org!, params.user!, actorOf(res));
      res.status(204).end();
    },
  );
}
