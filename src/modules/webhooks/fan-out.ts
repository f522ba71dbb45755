import type { Db } from '../../platform/db.js';
import { dialectOf, parseJson } from '../../platform/db.js';
import type { IdGenerator } from '../../platform/ids.js';
import { listEvents, maxEventSeq, toEvent, type EventRow } from '../events/queries.js';
import { insertDeliveries, type DeliveryRow } from './delivery-queries.js';
import type { WebhookRow } from './queries.js';
import { inTransaction } from '../../platform/transaction.js';

export const orderKeyOf = (e: Pick<EventRow, 'user_id' | 'organization_id'>): string =>
  e.user_id ? `user:${e.user_id}` : e.organization_id ? `org:${e.organization_id}` : 'global';

/**
 * Copies the next outbox events an endpoint subscribes to into its delivery queue and advances the
 * endpoint's cursor, in one transaction. Returns whether more events are waiting.
 *
 * Sequence numbers become visible in order (SQLite: one writer; PostgreSQL: numbered after commit by
 * `sequenceEvents`, which the worker runs first), so every event up to the highest number read here is
 * already visible and the cursor can move past it safely.
 */
export async function fanOutOnce(db: Db, ids: IdGenerator, webhookId: string, now: string, batch = 500): Promise<{ queued: number; more: boolean }> {
  return inTransaction(db, async (trx) => {
    const q = trx<WebhookRow>('webhooks').where({ id: webhookId, enabled: true });
    // Another instance fanning out the same endpoint holds the row: skip it rather than queue twice.
    if (dialectOf(trx) === 'pg') q.forUpdate().skipLocked();
    const hook = await q.first();
    if (!hook) return { queued: 0, more: false };
    const cursor = Number(hook.cursor);
    const high = await maxEventSeq(trx);
    if (high <= cursor) return { queued: 0, more: false };
    const types = parseJson<string[]>(hook.events, []);
    const events = await listEvents(trx, { after: cursor, upTo: high, take: batch, types });
    const full = events.length === batch;
    const nextCursor = full ? Number(events[events.length - 1]!.seq) : high;
    const rows: DeliveryRow[] = events.map((e) => ({
      id: ids.uuid(),
      webhook_id: hook.id,
      event_seq: Number(e.seq),
      event_id: e.id,
      event_type: e.type,
      order_key: orderKeyOf(e),
      payload: JSON.stringify(toEvent(e)),
      status: 'pending',
      attempts: 0,
      first_attempt_at: null,
      next_attempt_at: now,
      last_attempt_at: null,
      last_status_code: null,
      last_error: null,
      delivered_at: null,
      claimed_by: null,
      claimed_until: null,
      created_at: now,
    }));
    await insertDeliveries(trx, rows);
    await trx('webhooks').where({ id: hook.id }).update({ cursor: nextCursor });
    return { queued: rows.length, more: full };
  });
}
