import { Router } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { requireScope } from '../../http/api-auth.js';
import { parseQuery } from '../../http/validate.js';
import { decodeCursor, DEFAULT_TAKE, paginationQuery } from '../../http/pagination.js';

const query = z.object({
  ...paginationQuery,
  organization: z.string().max(100).optional(),
  user: z.string().max(36).optional(),
  action: z.string().max(60).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
});

export function auditRoutes(c: Container): Router {
  const r = Router();
  r.get('/audit-logs', requireScope('read:audit_logs'), async (req, res) => {
    const q = parseQuery(query, req.query);
    const organizationId = q.organization ? (await c.organizations.get(q.organization)).id : undefined;
    const cursor = decodeCursor<{ seq: number }>(q.from, ['seq']);
    const page = await c.audit.list({
      organizationId,
      userId: q.user,
      action: q.action,
      since: q.since ? new Date(q.since).toISOString() : undefined,
      afterSeq: cursor?.seq,
      take: q.take ?? DEFAULT_TAKE,
    });
    res.json({ audit_logs: page.items, next: page.next });
  });
  return r;
}
