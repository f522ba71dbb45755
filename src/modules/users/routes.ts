import { Router } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { requireScope } from '../../http/api-auth.js';
import { parseQuery } from '../../http/validate.js';
import { decodeCursor, DEFAULT_TAKE, paginationQuery } from '../../http/pagination.js';

const listQuery = z.object({ ...paginationQuery, email: z.string().max(320).optional() });

export function userRoutes(c: Container): Router {
  const r = Router();
  const canRead = requireScope('read:organization_members', 'read:organizations');
  r.get('/users', canRead, async (req, res) => {
    const q = parseQuery(listQuery, req.query);
    const page = await c.users.list({ email: q.email, afterId: decodeCursor<{ id: string }>(q.from, ['id'])?.id, take: q.take ?? DEFAULT_TAKE });
    res.json({ users: page.items, next: page.next });
  });
  r.get('/users/:id', canRead, async (req, res) => {
    res.json(await c.users.get(String(req.params.id)));
  });
  return r;
}
