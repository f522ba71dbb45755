import type { Executor } from '../../platform/db.js';
import { dialectOf, parseJson } from '../../platform/db.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_seq: number | string;
  event_id: string;
  event_type: string;
  order_key: string;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  first_attempt_at: string | null;
  next_attempt_at: string;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  claimed_by: string | null;
  claimed_until: string | null;
  created_at: string;
}

export interface AttemptRow {
  id: string;
  delivery_id: string;
  webhook_id: string;
  at: string;
  outcome: 'delivered' | 'failed';
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

export interface DeliveryAttempt {
  at: string;
  outcome: 'delivered' | 'failed';
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

export interface Delivery {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  cursor: string;
  status: DeliveryStatus;
  attempt_count: number;
  first_attempt_at: string | null;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
  attempts: DeliveryAttempt[];
  payload?: unknown;
}

export function toDelivery(r: DeliveryRow, attempts: AttemptRow[], withPayload = false): Delivery {
  return {
    id: r.id,
    webhook_id: r.webhook_id,
    event_id: r.event_id,
    event_type: r.event_type,
    cursor: String(r.event_seq),
    status: r.status,
    attempt_count: Number(r.attempts),
    first_attempt_at: r.first_attempt_at,
    next_attempt_at: r.status === 'pending' ? r.next_attempt_at : null,
    last_attempt_at: r.last_attempt_at,
    last_status_code: r.last_status_code === null ? null : Number(r.last_status_code),
    last_error: r.last_error,
    delivered_at: r.delivered_at,
    created_at: r.created_at,
    attempts: attempts.map((a) => ({ at: a.at, outcome: a.outcome, status_code: a.status_code === null ? null : Number(a.status_code), duration_ms: Number(a.duration_ms), error: a.error })),
    ...(withPayload ? { payload: parseJson(r.payload, {}) } : {}),
  };
}

export async function insertDeliveries(db: Executor, rows: DeliveryRow[]): Promise<void> {
  // Chunked: SQLite caps bound parameters per statement.
  for (let i = 0; i < rows.length; i += 40) await db('webhook_deliveries').insert(rows.slice(i, i + 40));
}

/**
 * Claims due deliveries with a lease. Only the oldest undelivered delivery per (endpoint, order
 * key) is eligible, which is what keeps one user's events in order while a failing one waits for
 * its retry. On PostgreSQL `SKIP LOCKED` keeps concurrent instances from claiming the same rows;
 * SQLite runs the statement under its single writer lock.
 */
export async function claimDueDeliveries(
  db: Executor,
  opts: { token: string; now: string; leaseUntil: string; limit: number },
): Promise<DeliveryRow[]> {
  const due = db('webhook_deliveries as d')
    .join('webhooks as w', 'w.id', 'd.webhook_id')
    .select('d.id')
    .where('w.enabled', true)
    .where('d.status', 'pending')
    .where('d.next_attempt_at', '<=', opts.now)
    .where((q) => q.whereNull('d.claimed_until').orWhere('d.claimed_until', '<', opts.now))
    .whereNotExists((q) =>
      q
        .select(db.raw('1'))
        .from('webhook_deliveries as e')
        .whereRaw('e.webhook_id = d.webhook_id')
        .whereRaw('e.order_key = d.order_key')
        .where('e.status', 'pending')
        .whereRaw('e.event_seq < d.event_seq'),
    )
    .orderBy('d.event_seq')
    .limit(opts.limit);
  if (dialectOf(db) === 'pg') due.forUpdate('d').skipLocked();
  const rows = (await db('webhook_deliveries')
    .whereIn('id', due)
    .update({ claimed_by: opts.token, claimed_until: opts.leaseUntil })
    .returning('*')) as DeliveryRow[];
  return rows.sort((a, b) => Number(a.event_seq) - Number(b.event_seq));
}

export const insertAttempt = (db: Executor, row: AttemptRow) => db('webhook_delivery_attempts').insert(row);

/** Updates a delivery only if this worker still holds its claim. */
export const updateClaimedDelivery = (db: Executor, id: string, token: string, patch: Partial<DeliveryRow>): Promise<number> =>
  db('webhook_deliveries').where({ id, claimed_by: token }).update(patch);

export const findDelivery = (db: Executor, webhookId: string, id: string): Promise<DeliveryRow | undefined> =>
  db<DeliveryRow>('webhook_deliveries').where({ webhook_id: webhookId, id }).first();

export function listDeliveryRows(
  db: Executor,
  webhookId: string,
  f: { status?: DeliveryStatus; beforeSeq?: number; take: number },
): Promise<DeliveryRow[]> {
  const q = db<DeliveryRow>('webhook_deliveries').where({ webhook_id: webhookId }).orderBy('event_seq', 'desc').limit(f.take);
  if (f.status) q.where('status', f.status);
  if (f.beforeSeq !== undefined) q.where('event_seq', '<', f.beforeSeq);
  return q;
}

export async function attemptsOf(db: Executor, deliveryIds: string[]): Promise<Map<string, AttemptRow[]>> {
  const byDelivery = new Map<string, AttemptRow[]>();
  if (deliveryIds.length === 0) return byDelivery;
  const rows = await db<AttemptRow>('webhook_delivery_attempts').whereIn('delivery_id', deliveryIds).orderBy([{ column: 'at' }, { column: 'id' }]);
  for (const r of rows) byDelivery.set(r.delivery_id, [...(byDelivery.get(r.delivery_id) ?? []), r]);
  return byDelivery;
}

export async function deleteFinishedDeliveriesBefore(db: Executor, before: string, limit: number): Promise<number> {
  return db('webhook_deliveries')
    .whereIn('id', db('webhook_deliveries').select('id').whereIn('status', ['delivered', 'failed']).where('created_at', '<', before).limit(limit))
    .delete();
}
