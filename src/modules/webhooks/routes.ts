import { z } from 'zod';
import type { Container } from '../../container.js';
import { actorOf } from '../../http/api-auth.js';
import type { ApiRouter } from '../../http/api-router.js';
import { cursorOf, decodeCursor, listOf, pageQuery } from '../../http/pagination.js';
import { EVENT_TYPES } from '../events/service.js';
import { createWebhookBody, updateWebhookBody } from './schema.js';

const tag = 'Webhooks';

const webhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(EVENT_TYPES)),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable().describe('`delivery_failing` (24 h of failed attempts) or `disabled_by_admin`.'),
  disabled_at: z.string().nullable(),
  failing_since: z.string().nullable().describe('When the oldest delivery still waiting for a retry first failed.'),
  created_at: z.string(),
  updated_at: z.string(),
});

const attemptSchema = z.object({
  at: z.string(),
  outcome: z.enum(['delivered', 'failed']),
  status_code: z.number().nullable(),
  duration_ms: z.number(),
  error: z.string().nullable(),
});

const deliverySchema = z.object({
  id: z.string(),
  webhook_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  cursor: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempt_count: z.number(),
  first_attempt_at: z.string().nullable(),
  next_attempt_at: z.string().nullable(),
  last_attempt_at: z.string().nullable(),
  last_status_code: z.number().nullable(),
  last_error: z.string().nullable(),
  delivered_at: z.string().nullable(),
  created_at: z.string(),
  attempts: z.array(attemptSchema),
  payload: z.unknown().optional(),
});

const deliveriesQuery = pageQuery.extend({ status: z.enum(['pending', 'delivered', 'failed']).optional() });

export function webhookRoutes(c: Container, api: ApiRouter): void {
  api.post(
    '/webhooks',
    { tag, summary: 'Create a webhook endpoint; the signing secret is returned only here', scopes: ['create:webhooks'], body: createWebhookBody, status: 201, response: webhookSchema.extend({ secret: z.string() }) },
    async (_req, res, { body }) => {
      res.status(201).json(await c.webhooks.create(body, actorOf(res)));
    },
  );
  api.get('/webhooks', { tag, summary: 'List webhook endpoints', scopes: ['read:webhooks'], query: pageQuery, response: listOf('webhooks', webhookSchema) }, async (_req, res, { query }) => {
    const page = await c.webhooks.list(query.take, cursorOf(query.from, 'id'));
    res.json({ webhooks: page.items, next: page.next });
  });
  api.get('/webhooks/:id', { tag, summary: 'Get a webhook endpoint', scopes: ['read:webhooks'], response: webhookSchema }, async (_req, res, { params }) => {
    res.json(await c.webhooks.get(params.id!));
  });
  api.patch(
    '/webhooks/:id',
    { tag, summary: 'Change the URL or event types, or enable/disable (enabling resumes where delivery stopped)', scopes: ['update:webhooks'], body: updateWebhookBody, status: 200, response: webhookSchema },
    async (_req, res, { body, params }) => {
      res.json(await c.webhooks.update(params.id!, body, actorOf(res)));
    },
  );
  api.delete('/webhooks/:id', { tag, summary: 'Delete a webhook endpoint and its delivery history', scopes: ['delete:webhooks'], status: 204 }, async (_req, res, { params }) => {
    await c.webhooks.remove(params.id!, actorOf(res));
    res.status(204).end();
  });
  api.get(
    '/webhooks/:id/deliveries',
    { tag, summary: 'Deliveries, newest first, each with its attempts', scopes: ['read:webhooks'], query: deliveriesQuery, response: listOf('deliveries', deliverySchema) },
    async (_req, res, { query, params }) => {
      const page = await c.webhooks.deliveries(params.id!, { status: query.status, beforeSeq: decodeCursor<{ seq: number }>(query.from, ['seq'])?.seq, take: query.take });
      res.json({ deliveries: page.items, next: page.next });
    },
  );
  api.get('/webhooks/:id/deliveries/:delivery', { tag, summary: 'One delivery with its payload and attempts', scopes: ['read:webhooks'], response: deliverySchema }, async (_req, res, { params }) => {
    res.json(await c.webhooks.delivery(params.id!, params.delivery!));
  });
  api.post(
    '/webhooks/:id/deliveries/:delivery/redeliver',
    { tag, summary: 'Send a delivery again now (same event id), with a fresh 24-hour retry window', scopes: ['update:webhooks'], status: 202, response: deliverySchema },
    async (_req, res, { params }) => {
      res.status(202).json(await c.webhooks.redeliver(params.id!, params.delivery!, actorOf(res)));
    },
  );
}
