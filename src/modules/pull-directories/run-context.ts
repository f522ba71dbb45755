import type { Container } from '../../container.js';
import type { Trx } from '../../platform/db.js';
import { inTransaction } from '../../platform/transaction.js';
import { PageWriter } from './page-writer.js';
import { PullError, RequestCounter, type HttpOptions } from './http-client.js';
import type { PullSettings } from './settings.js';
import * as q from './queries.js';

export type SeenKind = 'user' | 'group' | 'member';

export interface PullTarget {
  directoryId: string;
  connectionId: string;
  settings: PullSettings;
  /** The opened client secret or service-account private key. */
  secret: string;
}

/**
 * What a source needs while it runs: one transaction per page that also advances its cursor (so
 * a failed run resumes where it stopped), the lease check, the seen-set of a full pass, and
 * counters for the run report.
 */
export class PullRunContext {
  readonly counter = new RequestCounter();
  readonly totals: Record<string, number> = {};

  constructor(
    readonly c: Container,
    readonly target: PullTarget,
    readonly label: string,
    readonly http: HttpOptions,
    private readonly lease: { owner: string; ttlMs: number },
    /** The source's saved cursor (JSON), null before the first run. */
    public cursor: unknown,
    private readonly stopping: () => boolean,
    /** The run's id, recorded on what its pages write. */
    readonly runId: string,
  ) {}

  count(name: string, n = 1): void {
    this.totals[name] = (this.totals[name] ?? 0) + n;
  }

  /** Runs `fn` and saves `nextCursor` in one transaction, after checking this instance still holds the lease. */
  async page(nextCursor: unknown, fn: (w: PageWriter, trx: Trx) => Promise<void>): Promise<void> {
    // Shutting down: stop between pages; the next run (here or elsewhere) resumes from the cursor.
    if (this.stopping()) throw new PullError('stopped', 'the server is shutting down; the run resumes later');
    await this.renewLease();
    const counts = await inTransaction(this.c.db, async (trx) => {
      const w = new PageWriter(this.c, trx, { directoryId: this.target.directoryId, connectionId: this.target.connectionId, label: this.label, at: this.c.clock.now().toISOString(), runId: this.runId });
      await fn(w, trx);
      await q.saveCursor(trx, this.target.directoryId, JSON.stringify(nextCursor));
      return w.counts;
    });
    this.cursor = nextCursor;
    for (const [k, v] of Object.entries(counts)) if (v) this.count(k, v);
  }

  async renewLease(): Promise<void> {
    const ok = await q.renewLease(this.c.db, this.target.directoryId, this.lease.owner, new Date(this.c.clock.now().getTime() + this.lease.ttlMs).toISOString());
    if (!ok) throw new PullError('lease_lost', 'another instance took over this directory');
  }

  async markSeen(trx: Trx, passId: string, kind: SeenKind, remoteIds: string[]): Promise<void> {
    await q.insertSeen(trx, this.target.directoryId, passId, kind, remoteIds);
  }
}
