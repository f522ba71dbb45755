import type { Executor } from '../../platform/db.js';
import { parseJson, toBool } from '../../platform/db.js';
import type { EventType } from '../events/service.js';

export interface WebhookRow {
  id: string;
  url: string;
  events: string;
  enabled: boolean | number;
  secret_sealed: string;
  cursor: number | string;
  disabled_reason: string | null;
  disabled_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface Webhook {
  id: string;
  url: string;
  events: EventType[];
  enabled: boolean;
  /** Why the endpoint is disabled: `delivery_failing` (after 24 h of failures) or `disabled_by_admin`. */
  disabled_reason: string | null;
  disabled_at: string | null;
  /** When the oldest delivery still waiting for a retry first failed; null when none is. */
  failing_since: string | null;
  created_at: string;
  updated_at: string;
}

export const toWebhook = (r: WebhookRow, failingSince: string | null = null): Webhook => ({
  id: r.id,
  url: r.url,
  events: parseJson<EventType[]>(r.events, []),
  enabled: toBool(r.enabled),
  disabled_reason: r.disabled_reason,
  disabled_at: r.disabled_at,
  failing_since: failingSince,
  created_at: r.created_at,
  updated_at: r.updated_at,
});

export const findWebhook = (db: Executor, id: string): Promise<WebhookRow | undefined> => db<WebhookRow>('webhooks').where({ id }).first();

export const insertWebhook = (db: Executor, row: WebhookRow) => db('webhooks').insert(row);

export const updateWebhook = (db: Executor, id: string, patch: Partial<WebhookRow>) => db('webhooks').where({ id }).update(patch);

export const deleteWebhook = (db: Executor, id: string): Promise<number> => db('webhooks').where({ id }).delete();

export function listWebhooks(db: Executor, take: number, afterId?: string): Promise<WebhookRow[]> {
  const q = db<WebhookRow>('webhooks').orderBy('id').limit(take);
  if (afterId) q.where('id', '>', afterId);
  return q;
}

/** Derived, not stored: the first failed attempt of the oldest delivery still waiting for a retry. */
export async function failingSince(db: Executor, webhookIds: string[]): Promise<Map<string, string>> {
  if (webhookIds.length === 0) return new Map();
  const rows = (await db('webhook_deliveries')
    .select('webhook_id')
    .min({ since: 'first_attempt_at' })
    .whereIn('webhook_id', webhookIds)
    .where('status', 'pending')
    .where('attempts', '>', 0)
    .groupBy('webhook_id')) as Array<{ webhook_id: string; since: string | null }>;
  return new Map(rows.filter((r) => r.since).map((r) => [r.webhook_id, r.since!]));
}

export const enabledWebhookIds = async (db: Executor): Promise<string[]> =>
  (await db('webhooks').where({ enabled: true }).select('id')).map((r: { id: string }) => r.id);
