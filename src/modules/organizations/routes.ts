import { Router } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { actorOf, requireScope } from '../../http/api-auth.js';
import { parseBody, parseQuery } from '../../http/validate.js';
import { decodeCursor, DEFAULT_TAKE, paginationQuery } from '../../http/pagination.js';
import { createOrganizationBody, updateOrganizationBody } from './schema.js';

export function organizationRoutes(c: Container): Router {
  const r = Router();
  r.post('/organizations', requireScope('create:organizations'), async (req, res) => {
    const body = parseBody(createOrganizationBody, req.body);
    res.status(201).json(await c.organizations.create(body, actorOf(res)));
  });
  r.get('/organizations', requireScope('read:organizations'), async (req, res) => {
    const q = parseQuery(z.object(paginationQuery), req.query);
    const page = await c.organizations.list(q.take ?? DEFAULT_TAKE, decodeCursor<{ id: string }>(q.from, ['id'])?.id);
    res.json({ organizations: page.items, next: page.next });
  });
  r.get('/organizations/:org', requireScope('read:organizations'), async (req, res) => {
    res.json(await c.organizations.get(String(req.params.org)));
  });
  r.patch('/organizations/:org', requireScope('update:organizations'), async (req, res) => {
    const body = parseBody(updateOrganizationBody, req.body);
    res.json(await c.organizations.update(String(req.params.org), body, actorOf(res)));
  });
  r.delete('/organizations/:org', requireScope('delete:organizations'), async (req, res) => {
    await c.organizations.delete(String(req.params.org), actorOf(res));
    res.status(204).end();
  });
  return r;
}
