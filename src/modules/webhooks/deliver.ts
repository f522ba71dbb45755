import type { Db, Trx } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import type { SecretBox } from '../../platform/crypto.js';
import type { AuditService } from '../audit/service.js';
import { systemActor } from '../audit/types.js';
import { insertAttempt, updateClaimedDelivery, type DeliveryRow } from './delivery-queries.js';
import type { WebhookRow } from './queries.js';
import { postWebhook, type PostOutcome } from './http-post.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';
import { GIVE_UP_AFTER_MS, retryDelayMs } from './backoff.js';
import { inTransaction } from '../../platform/transaction.js';

export interface DeliverDeps {
  db: Db;
  clock: Clock;
  ids: IdGenerator;
  secretBox: SecretBox;
  audit: AuditService;
  allowPrivateTargets: boolean;
  timeoutMs: number;
  random: () => number;
  signal?: AbortSignal;
}

export type AttemptResult = 'delivered' | 'retry' | 'gave_up' | 'released' | 'lost_claim';

/** Sends one claimed delivery and records the attempt. */
export async function deliverClaimed(d: DeliverDeps, row: DeliveryRow, hook: WebhookRow, token: string): Promise<AttemptResult> {
  const sentAt = d.clock.now();
  const headers = {
    [SIGNATURE_HEADER]: signatureHeader(d.secretBox.open(hook.secret_sealed), row.payload, Math.floor(sentAt.getTime() / 1000)),
    // Stable across retries and redeliveries: receivers deduplicate on it.
    'Orgsync-Event-Id': row.event_id,
    'Orgsync-Event-Type': row.event_type,
    'Orgsync-Delivery-Id': row.id,
    'Orgsync-Delivery-Attempt': String(Number(row.attempts) + 1),
  };
  const outcome = await postWebhook(hook.url, row.payload, headers, { timeoutMs: d.timeoutMs, allowPrivateTargets: d.allowPrivateTargets, signal: d.signal });
  if (d.signal?.aborted && outcome.kind === 'failed') {
    // Shutting down: hand the delivery back untouched; the next instance to start sends it again.
    await updateClaimedDelivery(d.db, row.id, token, { claimed_by: null, claimed_until: null });
    return 'released';
  }
  return record(d, row, hook, token, outcome);
}

async function record(d: DeliverDeps, row: DeliveryRow, hook: WebhookRow, token: string, outcome: PostOutcome): Promise<AttemptResult> {
  const now = d.clock.now();
  const at = now.toISOString();
  const firstAttemptAt = row.first_attempt_at ?? at;
  const attempts = Number(row.attempts) + 1;
  return inTransaction(d.db, async (trx) => {
    const common = { attempts, first_attempt_at: firstAttemptAt, last_attempt_at: at, last_status_code: outcome.status, claimed_by: null, claimed_until: null };
    let result: AttemptResult;
    let changed: number;
    if (outcome.kind === 'delivered') {
      changed = await updateClaimedDelivery(trx, row.id, token, { ...common, status: 'delivered', delivered_at: at, last_error: null });
      result = 'delivered';
    } else if (now.getTime() - Date.parse(firstAttemptAt) >= GIVE_UP_AFTER_MS) {
      changed = await updateClaimedDelivery(trx, row.id, token, { ...common, status: 'failed', last_error: outcome.error });
      if (changed) await disableFailingEndpoint(d, trx, hook, row, at);
      result = 'gave_up';
    } else {
      const next = new Date(now.getTime() + retryDelayMs(attempts, d.random)).toISOString();
      changed = await updateClaimedDelivery(trx, row.id, token, { ...common, next_attempt_at: next, last_error: outcome.error });
      result = 'retry';
    }
    // Our lease ran out and another worker took the delivery over: its attempt is the one that counts.
    if (!changed) return 'lost_claim';
    await insertAttempt(trx, {
      id: d.ids.uuid(),
      delivery_id: row.id,
      webhook_id: hook.id,
      at,
      outcome: outcome.kind,
      status_code: outcome.status,
      duration_ms: outcome.durationMs,
      error: outcome.kind === 'failed' ? outcome.error : null,
    });
    return result;
  });
}

async function disableFailingEndpoint(d: DeliverDeps, trx: Trx, hook: WebhookRow, row: DeliveryRow, at: string) {
  const n = await trx('webhooks').where({ id: hook.id, enabled: true }).update({ enabled: false, disabled_reason: 'delivery_failing', disabled_at: at, updated_at: at });
  if (n) {
    await d.audit.record(trx, {
      action: 'webhook.disabled',
      actor: systemActor,
      detail: { webhook_id: hook.id, reason: 'delivery_failing', delivery_id: row.id, event_id: row.event_id },
    });
  }
}
