import { Router } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { actorOf, requireScope } from '../../http/api-auth.js';
import { parseBody, parseQuery } from '../../http/validate.js';
import { decodeCursor, DEFAULT_TAKE, paginationQuery } from '../../http/pagination.js';
import { ALL_SCOPES } from '../../http/scopes.js';

const createBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  scopes: z.array(z.enum(ALL_SCOPES)).min(1),
});

export function apiKeyRoutes(c: Container): Router {
  const r = Router();
  r.post('/api-keys', requireScope('create:api_keys'), async (req, res) => {
    const body = parseBody(createBody, req.body);
    const key = await c.apiKeys.create(body, actorOf(res));
    res.status(201).json(key);
  });
  r.get('/api-keys', requireScope('create:api_keys', 'delete:api_keys'), async (req, res) => {
    const q = parseQuery(z.object(paginationQuery), req.query);
    const page = await c.apiKeys.list(q.take ?? DEFAULT_TAKE, decodeCursor<{ id: string }>(q.from, ['id'])?.id);
    res.json({ api_keys: page.items, next: page.next });
  });
  r.delete('/api-keys/:id', requireScope('delete:api_keys'), async (req, res) => {
    await c.apiKeys.revoke(String(req.params.id), actorOf(res));
    res.status(204).end();
  });
  return r;
}
