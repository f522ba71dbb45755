import type { Db, Executor } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { randomToken, type SecretBox } from '../../platform/crypto.js';
import { AppError, notFound } from '../../platform/errors.js';
import { toPage, type Page } from '../../platform/paging.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import { maxEventSeq } from '../events/queries.js';
import { sequenceEvents } from '../events/sequencer.js';
import * as q from './queries.js';
import { attemptsOf, findDelivery, listDeliveryRows, toDelivery, type Delivery, type DeliveryStatus } from './delivery-queries.js';
import { assertPublicTarget, parseWebhookUrl } from './target-guard.js';
import type { CreateWebhookInput, UpdateWebhookInput } from './schema.js';
import { inTransaction } from '../../platform/transaction.js';

export class WebhookService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly secretBox: SecretBox,
    private readonly audit: AuditService,
    private readonly allowPrivateTargets: boolean,
  ) {}

  /** Creates an endpoint that receives events from now on; the signing secret is returned only here. */
  async create(input: CreateWebhookInput, actor: Actor): Promise<q.Webhook & { secret: string }> {
    const url = await this.checkedUrl(input.url);
    const secret = randomToken('whsec_');
    const now = this.clock.now().toISOString();
    // "From now on": events committed before this are numbered first, so they fall below the cursor.
    await sequenceEvents(this.db);
    const row = await inTransaction(this.db, async (trx) => {
      const row: q.WebhookRow = {
        id: this.ids.uuid(),
        url,
        events: JSON.stringify([...new Set(input.events)]),
        enabled: input.enabled ?? true,
        secret_sealed: this.secretBox.seal(secret),
        cursor: await maxEventSeq(trx),
        disabled_reason: input.enabled === false ? 'disabled_by_admin' : null,
        disabled_at: input.enabled === false ? now : null,
        created_at: now,
        updated_at: now,
      };
      await q.insertWebhook(trx, row);
      await this.audit.record(trx, { action: 'webhook.created', actor, detail: { webhook_id: row.id, url, events: input.events } });
      return row;
    });
    return { ...q.toWebhook(row), secret };
  }

  async get(id: string): Promise<q.Webhook> {
    const row = await this.row(id);
    return q.toWebhook(row, (await q.failingSince(this.db, [id])).get(id));
  }

  async list(take: number, afterId?: string): Promise<Page<q.Webhook>> {
    const page = toPage(await q.listWebhooks(this.db, take + 1, afterId), take, (r) => ({ id: r.id }));
    const failing = await q.failingSince(this.db, page.items.map((r) => r.id));
    return { items: page.items.map((r) => q.toWebhook(r, failing.get(r.id))), next: page.next };
  }

  /**
   * Re-enabling an endpoint resumes delivery where it stopped: queued deliveries are sent and the
   * events written meanwhile (still within retention) are queued.
   */
  async update(id: string, patch: UpdateWebhookInput, actor: Actor): Promise<q.Webhook> {
    const url = patch.url === undefined ? undefined : await this.checkedUrl(patch.url);
    const now = this.clock.now().toISOString();
    return inTransaction(this.db, async (trx) => {
      const current = await this.row(id, trx);
      const changes: Partial<q.WebhookRow> = { updated_at: now };
      if (url !== undefined) changes.url = url;
      if (patch.events) changes.events = JSON.stringify([...new Set(patch.events)]);
      if (patch.enabled === true) Object.assign(changes, { enabled: true, disabled_reason: null, disabled_at: null });
      if (patch.enabled === false && current.enabled) Object.assign(changes, { enabled: false, disabled_reason: 'disabled_by_admin', disabled_at: now });
      await q.updateWebhook(trx, id, changes);
      await this.audit.record(trx, { action: 'webhook.updated', actor, detail: { webhook_id: id, ...patch } });
      return q.toWebhook({ ...current, ...changes }, (await q.failingSince(trx, [id])).get(id));
    });
  }

  async remove(id: string, actor: Actor): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      if ((await q.deleteWebhook(trx, id)) === 0) throw notFound('Webhook');
      await this.audit.record(trx, { action: 'webhook.deleted', actor, detail: { webhook_id: id } });
    });
  }

  async deliveries(webhookId: string, f: { status?: DeliveryStatus; beforeSeq?: number; take: number }): Promise<Page<Delivery>> {
    await this.row(webhookId);
    const rows = await listDeliveryRows(this.db, webhookId, { ...f, take: f.take + 1 });
    const page = toPage(rows, f.take, (r) => ({ seq: Number(r.event_seq) }));
    const attempts = await attemptsOf(this.db, page.items.map((r) => r.id));
    return { items: page.items.map((r) => toDelivery(r, attempts.get(r.id) ?? [])), next: page.next };
  }

  async delivery(webhookId: string, deliveryId: string): Promise<Delivery> {
    const row = await findDelivery(this.db, webhookId, deliveryId);
    if (!row) throw notFound('Delivery');
    return toDelivery(row, (await attemptsOf(this.db, [row.id])).get(row.id) ?? [], true);
  }

  /**
   * Queues a delivery to be sent again now, whatever its state, with a fresh 24-hour retry window.
   * Receivers see the same `Orgsync-Event-Id` and can deduplicate.
   */
  async redeliver(webhookId: string, deliveryId: string, actor: Actor): Promise<Delivery> {
    const hook = q.toWebhook(await this.row(webhookId));
    if (!hook.enabled) throw new AppError('webhook_disabled', 409, 'The webhook is disabled; enable it (PATCH {"enabled": true}) before redelivering.');
    const now = this.clock.now().toISOString();
    await inTransaction(this.db, async (trx) => {
      const n = await trx('webhook_deliveries')
        .where({ webhook_id: webhookId, id: deliveryId })
        .update({ status: 'pending', next_attempt_at: now, first_attempt_at: null, claimed_by: null, claimed_until: null });
      if (n === 0) throw notFound('Delivery');
      await this.audit.record(trx, { action: 'webhook.redelivery_requested', actor, detail: { webhook_id: webhookId, delivery_id: deliveryId } });
    });
    return this.delivery(webhookId, deliveryId);
  }

  private async row(id: string, exec: Executor = this.db): Promise<q.WebhookRow> {
    const row = await q.findWebhook(exec, id);
    if (!row) throw notFound('Webhook');
    return row;
  }

  private async checkedUrl(raw: string): Promise<string> {
    const url = parseWebhookUrl(raw);
    if (!this.allowPrivateTargets) await assertPublicTarget(url);
    return url.toString();
  }
}
