import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Container } from '../../container.js';
import { pruneExpired } from '../events/retention.js';
import { sequenceEvents } from '../events/sequencer.js';
import { claimDueDeliveries } from './delivery-queries.js';
import { deliverClaimed, type AttemptResult, type DeliverDeps } from './deliver.js';
import { fanOutOnce } from './fan-out.js';
import { enabledWebhookIds, type WebhookRow } from './queries.js';

export interface WorkerOptions {
  pollIntervalMs?: number;
  /** Per-attempt limit for the whole HTTP exchange. */
  timeoutMs?: number;
  /** Deliveries claimed (and sent concurrently) per round. */
  batchSize?: number;
  random?: () => number;
  /** How often this instance checks whether the retention prune is due (the lease limits it to hourly). */
  pruneCheckMs?: number;
}

export interface TickResult {
  queued: number;
  attempts: AttemptResult[];
}

/**
 * The background loop of a server process: fans the outbox out to webhook endpoints, sends due
 * deliveries, and prunes expired events. Created and started by the server, never at import.
 */
export class WebhookWorker {
  private readonly instance = `w-${randomBytes(6).toString('hex')}`;
  private claims = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  private lastPruneCheck = -Infinity;
  private abort = this.newAbortController();
  private readonly opts: Required<WorkerOptions>;

  constructor(private readonly c: Container, opts: WorkerOptions = {}) {
    this.opts = { pollIntervalMs: 1000, timeoutMs: 10_000, batchSize: 25, random: Math.random, pruneCheckMs: 600_000, ...opts };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.abort = this.newAbortController();
    // The first round waits one interval, keeping start-up (and a quick stop) free of background work.
    this.schedule(this.opts.pollIntervalMs);
  }

  /** Stops polling, cancels in-flight requests (their deliveries go back to the queue) and waits. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  /** Every in-flight request of a round listens on the signal, so allow one listener per claim. */
  private newAbortController(): AbortController {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((err: unknown) => this.c.logger.warn({ err }, 'webhook worker round failed'))
        .finally(() => this.schedule(this.opts.pollIntervalMs));
    }, ms);
  }

  /** One round; tests call it directly to step the worker deterministically. */
  async tick(): Promise<TickResult> {
    const now = this.c.clock.now();
    if (now.getTime() - this.lastPruneCheck >= this.opts.pruneCheckMs) {
      this.lastPruneCheck = now.getTime();
      const pruned = await pruneExpired(this.c.db, { now, retentionDays: this.c.config.eventRetentionDays, owner: this.instance });
      if (pruned.ran) this.c.logger.info(pruned, 'pruned expired events and deliveries');
    }
    // Number what has committed to the outbox since (PostgreSQL), then fan it out.
    await sequenceEvents(this.c.db);
    let queued = 0;
    for (const id of await enabledWebhookIds(this.c.db)) {
      for (let round = 0; round < 20; round++) {
        const r = await fanOutOnce(this.c.db, this.c.ids, id, now.toISOString());
        queued += r.queued;
        if (!r.more) break;
      }
    }
    const attempts: AttemptResult[] = [];
    // Keep claiming while there is work: delivering one event unblocks the next one of that user.
    for (let round = 0; round < 50 && !this.abort.signal.aborted; round++) {
      const sent = await this.deliverBatch();
      attempts.push(...sent);
      if (sent.length === 0) break;
    }
    return { queued, attempts };
  }

  private async deliverBatch(): Promise<AttemptResult[]> {
    const now = this.c.clock.now();
    const token = `${this.instance}-${++this.claims}`;
    const rows = await claimDueDeliveries(this.c.db, {
      token,
      now: now.toISOString(),
      // Longer than any attempt can take, so a live worker never loses its claim mid-request;
      // a killed worker's claims expire and another instance (or the restarted one) resends.
      leaseUntil: new Date(now.getTime() + this.opts.timeoutMs + 5_000).toISOString(),
      limit: this.opts.batchSize,
    });
    if (rows.length === 0) return [];
    const hooks = new Map<string, WebhookRow>();
    for (const h of await this.c.db<WebhookRow>('webhooks').whereIn('id', [...new Set(rows.map((r) => r.webhook_id))])) hooks.set(h.id, h);
    const deps: DeliverDeps = {
      db: this.c.db,
      clock: this.c.clock,
      ids: this.c.ids,
      secretBox: this.c.secretBox,
      audit: this.c.audit,
      allowPrivateTargets: this.c.config.webhookAllowPrivateTargets,
      timeoutMs: this.opts.timeoutMs,
      random: this.opts.random,
      signal: this.abort.signal,
    };
    return Promise.all(
      rows.map((row) => {
        const hook = hooks.get(row.webhook_id);
        return hook ? deliverClaimed(deps, row, hook, token) : Promise.resolve<AttemptResult>('lost_claim');
      }),
    );
  }
}
