import { z } from 'zod';
import type { Container } from '../../container.js';
import type { ApiRouter } from '../../http/api-router.js';
import { decodeCursor, listOf, pageQuery } from '../../http/pagination.js';

const query = pageQuery.extend({
  organization: z.string().max(100).optional(),
  user: z.string().max(36).optional(),
  action: z.string().max(60).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
});

const auditEventSchema = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.object({ type: z.enum(['api_key', 'scim', 'login', 'cli', 'admin_page', 'system']), id: z.string().nullable() }),
  action: z.string(),
  organization_id: z.string().nullable(),
  target_user_id: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
});

export function auditRoutes(c: Container, api: ApiRouter): void {
  api.get(
    '/audit-logs',
    { tag: 'Audit log', summary: 'Audit events, oldest to newest within a page', scopes: ['read:audit_logs'], query, response: listOf('audit_logs', auditEventSchema) },
    async (_req, res, { query: q }) => {
      const organizationId = q.organization ? (await c.organizations.get(q.organization)).id : undefined;
      const page = await c.audit.list({
        organizationId,
        userId: q.user,
        action: q.action,
        since: q.since ? new Date(q.since).toISOString() : undefined,
        afterSeq: decodeCursor<{ seq: number }>(q.from, ['seq'])?.seq,
        take: q.take,
      });
      res.json({ audit_logs: page.items, next: page.next });
    },
  );
}
