import { inTransaction } from '../../platform/transaction.js';
import type { Container } from '../../container.js';
import { defaultHttpOptions, PullError, type HttpOptions } from './http-client.js';
import { runGraph } from './graph-source.js';
import { runGoogle } from './google-source.js';
import { PullRunContext, type PullTarget } from './run-context.js';
import type { PullKind, PullSettings } from './settings.js';
import { DEFAULT_SYNC_INTERVAL_SECONDS, PULL_KIND_LABEL } from './settings.js';
import * as q from './queries.js';
import { changesOfPullRun, writePullSummaries, type EndedPullRun } from './run-summary.js';
import { parseJson, type Trx } from '../../platform/db.js';

export type PullTrigger = 'schedule' | 'manual';

type Target = PullTarget & { kind: PullKind; name: string };

export type PullOutcome =
  | { kind: 'succeeded'; runId: string; requests: number; counts: Record<string, number> }
  | { kind: 'failed'; runId: string; requests: number; counts: Record<string, number>; error: string }
  | { kind: 'skipped'; reason: 'lease_held' | 'not_a_pull_directory' };

const SOURCES: Record<PullKind, { label: string; run: (ctx: PullRunContext) => Promise<void> }> = {
  microsoft_graph: { label: PULL_KIND_LABEL.microsoft_graph, run: runGraph },
  google_workspace: { label: PULL_KIND_LABEL.google_workspace, run: runGoogle },
};

export interface RunnerOptions {
  /** How long a lease lasts without renewal: a killed run is taken over after this. */
  leaseTtlMs: number;
  http: HttpOptions;
  random: () => number;
}

export const defaultRunnerOptions: RunnerOptions = { leaseTtlMs: 60_000, http: defaultHttpOptions, random: Math.random };

/** Next run: the interval with ±10% jitter, so directories created together do not run in lockstep. */
export const jittered = (ms: number, random: () => number) => Math.round(ms * (0.9 + 0.2 * random()));

/** After a failed run: 30 s doubling per failure, at most the interval, at least what a rate limit asked. */
export function retryDelay(failures: number, intervalMs: number, random: () => number, retryAfterMs = 0): number {
  const backoff = Math.min(intervalMs, 30_000 * 2 ** Math.max(0, failures - 1));
  return Math.max(jittered(backoff, random), retryAfterMs);
}

/**
 * Runs one pull directory under a lease, so two instances on one database never run it at once;
 * records the run, and schedules the next one (or a retry with backoff after a failure).
 */
export class PullRunner {
  private stopping = false;

  constructor(
    private readonly c: Container,
    private readonly owner: string,
    private readonly opts: RunnerOptions = defaultRunnerOptions,
  ) {}

  private async target(directoryId: string): Promise<Target | null> {
    const row = await this.c.db('directories')
      .where({ id: directoryId })
      .first<{ id: string; connection_id: string; name: string; kind: string; pull_settings: string | null; pull_secret_sealed: string | null } | undefined>();
    if (!row || !(row.kind in SOURCES) || !row.pull_settings || !row.pull_secret_sealed) return null;
    return {
      directoryId: row.id,
      connectionId: row.connection_id,
      name: row.name,
      kind: row.kind as PullKind,
      settings: JSON.parse(row.pull_settings) as PullSettings,
      secret: this.c.secretBox.open(row.pull_secret_sealed),
    };
  }

  /**
   * Ends a run's record and puts it in the sync reports of the organizations it concerns, in one
   * transaction with `more` (the directory's state). What its pages changed is counted first,
   * outside the transaction: those sync runs are committed already.
   */
  private async finish(target: Target, run: EndedPullRun, more: (trx: Trx) => Promise<void>): Promise<void> {
    const changes = await changesOfPullRun(this.c.db, run.id);
    await inTransaction(this.c.db, async (trx) => {
      await q.finishRun(trx, run.id, { status: run.status, finished_at: run.finished_at, requests: run.requests, counts: JSON.stringify(run.counts), error: run.error });
      await writePullSummaries(trx, this.c.ids, run, { connection_id: target.connectionId, name: target.name, kind: target.kind }, changes);
      await more(trx);
    });
  }

  /**
   * Takes the lease and records the run as started; the returned promise resolves when the run
   * ends. `started` resolves as soon as the lease is held (for "sync now" answers).
   */
  async start(directoryId: string, trigger: PullTrigger): Promise<{ outcome: Promise<PullOutcome>; runId: string | null }> {
    const target = await this.target(directoryId);
    if (!target) return { outcome: Promise.resolve({ kind: 'skipped', reason: 'not_a_pull_directory' }), runId: null };
    const now = this.c.clock.now();
    if (!(await q.acquireLease(this.c.db, directoryId, this.owner, now, this.opts.leaseTtlMs))) {
      return { outcome: Promise.resolve({ kind: 'skipped', reason: 'lease_held' }), runId: null };
    }
    const runId = this.c.ids.uuid();
    const startedAt = now.toISOString();
    // A run still marked running was cut short (killed instance, lost lease): this one takes over,
    // and the cut-short run goes into the reports as interrupted, with what its pages changed.
    for (const cut of await q.runningRuns(this.c.db, directoryId)) {
      const ended: EndedPullRun = { ...cut, status: 'interrupted', finished_at: startedAt, requests: Number(cut.requests), counts: parseJson(cut.counts, {}), error: 'interrupted: the run was cut short; a later run resumed it' };
      await this.finish(target, ended, async () => {});
    }
    await inTransaction(this.c.db, async (trx) => {
      await q.insertRun(trx, { id: runId, directory_id: directoryId, trigger, status: 'running', started_at: startedAt, finished_at: null, requests: 0, counts: '{}', error: null });
      await q.updateState(trx, directoryId, { last_run_at: startedAt });
    });
    return { outcome: this.execute(target, runId, trigger, startedAt), runId };
  }

  /** Runs in progress end at their next page boundary (server shutdown). */
  stop(): void {
    this.stopping = true;
  }

  async run(directoryId: string, trigger: PullTrigger): Promise<PullOutcome> {
    return (await this.start(directoryId, trigger)).outcome;
  }

  private async execute(target: Target, runId: string, trigger: PullTrigger, startedAt: string): Promise<PullOutcome> {
    const source = SOURCES[target.kind];
    const base = { id: runId, directory_id: target.directoryId, trigger, started_at: startedAt };
    const state = await q.findState(this.c.db, target.directoryId);
    const cursor: unknown = state?.cursor ? JSON.parse(state.cursor) : null;
    const ctx = new PullRunContext(this.c, target, source.label, this.opts.http, { owner: this.owner, ttlMs: this.opts.leaseTtlMs }, cursor, () => this.stopping, runId);
    const intervalMs = (target.settings.sync_interval_seconds ?? DEFAULT_SYNC_INTERVAL_SECONDS) * 1000;
    try {
      await source.run(ctx);
      const end = this.c.clock.now();
      const ended: EndedPullRun = { ...base, status: 'succeeded', finished_at: end.toISOString(), requests: ctx.counter.count, counts: ctx.totals, error: null };
      await this.finish(target, ended, async (trx) => {
        await q.updateState(trx, target.directoryId, { last_success_at: end.toISOString(), last_error: null, failures: 0, next_run_at: new Date(end.getTime() + jittered(intervalMs, this.opts.random)).toISOString() });
      });
      return { kind: 'succeeded', runId, requests: ctx.counter.count, counts: ctx.totals };
    } catch (err) {
      const error = err instanceof PullError ? `${err.code}: ${err.message}` : 'internal_error: the run failed unexpectedly';
      if (!(err instanceof PullError)) this.c.logger.error({ err, directory_id: target.directoryId }, 'pull run failed');
      const end = this.c.clock.now();
      const stopped = err instanceof PullError && err.code === 'stopped';
      const failures = (state?.failures ?? 0) + (stopped ? 0 : 1);
      const delay = stopped ? 0 : retryDelay(failures, intervalMs, this.opts.random, err instanceof PullError ? err.retryAfterMs : 0);
      const ended: EndedPullRun = { ...base, status: stopped ? 'interrupted' : 'failed', finished_at: end.toISOString(), requests: ctx.counter.count, counts: ctx.totals, error };
      await this.finish(target, ended, async (trx) => {
        await q.updateState(trx, target.directoryId, { last_error: stopped ? (state?.last_error ?? null) : error, failures, next_run_at: new Date(end.getTime() + delay).toISOString() });
      });
      return { kind: 'failed', runId, requests: ctx.counter.count, counts: ctx.totals, error };
    } finally {
      await q.releaseLease(this.c.db, target.directoryId, this.owner);
    }
  }
}
