import type { Container } from '../../container.js';
import { actorOf } from '../../http/api-auth.js';
import type { ApiRouter } from '../../http/api-router.js';
import { cursorOf, listOf, pageQuery } from '../../http/pagination.js';
import { createOrganizationBody, organizationSchema, updateOrganizationBody } from './schema.js';

const tag = 'Organizations';

export function organizationRoutes(c: Container, api: ApiRouter): void {
  api.post('/organizations', { tag, summary: 'Create an organization', scopes: ['create:organizations'], body: createOrganizationBody, response: organizationSchema }, async (_req, res, { body }) => {
    res.status(201).json(await c.organizations.create(body, actorOf(res)));
  });
  api.get('/organizations', { tag, summary: 'List organizations', scopes: ['read:organizations'], query: pageQuery, response: listOf('organizations', organizationSchema) }, async (_req, res, { query }) => {
    const page = await c.organizations.list(query.take, cursorOf(query.from, 'id'));
    res.json({ organizations: page.items, next: page.next });
  });
  api.get('/organizations/:org', { tag, summary: 'Get an organization by id or name', scopes: ['read:organizations'], response: organizationSchema }, async (_req, res, { params }) => {
    res.json(await c.organizations.get(params.org!));
  });
  api.patch('/organizations/:org', { tag, summary: 'Rename an organization', scopes: ['update:organizations'], body: updateOrganizationBody, status: 200, response: organizationSchema }, async (_req, res, { body, params }) => {
    res.json(await c.organizations.update(params.org!, body, actorOf(res)));
  });
  api.delete('/organizations/:org', { tag, summary: 'Delete an organization (memberships removed, users kept)', scopes: ['delete:organizations'], status: 204 }, async (_req, res, { params }) => {
    await c.organizations.delete(params.org!, actorOf(res));
    res.status(204).end();
  });
}

