import { z } from 'zod';
import type { Container } from '../../container.js';
import type { ApiRouter } from '../../http/api-router.js';
import { DEFAULT_TAKE, paginationQuery } from '../../http/pagination.js';
import { isAppError } from '../../platform/errors.js';
import { EVENT_TYPES, isEventType } from './service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const query = z.object({
  after: z.string().regex(/^\d{1,18}$/, 'must be a cursor returned as `cursor` or `next`').optional().describe('Return events after this cursor (exclusive).'),
  take: paginationQuery.take,
  organization: z.string().min(1).max(100).optional().describe('Organization id or name.'),
  user: z.string().regex(UUID, 'must be a user id').optional(),
  type: z
    .string()
    .max(1000)
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((types) => types.every(isEventType), { message: `must be a comma-separated list of: ${EVENT_TYPES.join(', ')}` })
    .optional()
    .describe('Comma-separated event types.'),
});

export const eventSchema = z.object({
  cursor: z.string(),
  id: z.string(),
  type: z.enum(EVENT_TYPES),
  at: z.string(),
  organization_id: z.string().nullable(),
  user_id: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});

const eventPage = z.object({
  events: z.array(eventSchema),
  next: z.string().describe('Pass as `after` to continue; unchanged when there is nothing new.'),
  has_more: z.boolean(),
});

export function eventRoutes(c: Container, api: ApiRouter): void {
  api.get(
    '/events',
    {
      tag: 'Events',
      summary: 'The ordered, replayable event log (membership and user lifecycle changes)',
      scopes: ['read:events'],
      query,
      response: eventPage,
    },
    async (_req, res, { query: q }) => {
      const take = q.take ?? DEFAULT_TAKE;
      const after = q.after === undefined ? 0 : Number(q.after);
      const organizationId = q.organization ? await organizationIdOf(c, q.organization) : undefined;
      const rows = await c.events.list({ after, take: take + 1, organizationId, userId: q.user, types: q.type });
      const events = rows.slice(0, take);
      // `next` is always a cursor, so a consumer can keep polling with it even when caught up.
      const next = events.length > 0 ? events[events.length - 1]!.cursor : String(after);
      res.json({ events, next, has_more: rows.length > take });
    },
  );
}

/** Events outlive their organization, so a well-formed id of a deleted organization still filters. */
async function organizationIdOf(c: Container, idOrName: string): Promise<string> {
  try {
    return (await c.organizations.get(idOrName)).id;
  } catch (err) {
    if (isAppError(err) && err.status === 404 && UUID.test(idOrName)) return idOrName.toLowerCase();
    throw err;
  }
}
