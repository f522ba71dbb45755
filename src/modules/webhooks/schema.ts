import { z } from 'zod';
import { EVENT_TYPES } from '../events/service.js';

const url = z.string().trim().min(1).max(2000);
const events = z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length);

export const createWebhookBody = z.strictObject({
  url,
  events,
  enabled: z.boolean().optional(),
});

export const updateWebhookBody = z
  .strictObject({
    url: url.optional(),
    events: events.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one of url, events, enabled' });

export type CreateWebhookInput = z.infer<typeof createWebhookBody>;
export type UpdateWebhookInput = z.infer<typeof updateWebhookBody>;
