import type { Db, Executor } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/logger.js';
import type { AuditService } from '../audit/service.js';
import { systemActor } from '../audit/types.js';
import type { EventService } from '../events/service.js';
import type { OrganizationRow } from '../organizations/queries.js';
import { removeMemberships } from '../members/removal.js';
import { flaggedOnly } from '../memberships/queries.js';
import type { MembershipBrief } from '../members/queries.js';
import { inTransaction } from '../../platform/transaction.js';

const JOB = 'auto_remove_flagged';
const BATCH = 1000;

/** Takes the job's lease when free or expired; only the instance whose row comes back runs. */
export async function tryLease(db: Executor, owner: string, now: Date, ttlMs: number): Promise<boolean> {
  const result = await db.raw<unknown>(
    `INSERT INTO job_locks (name, owner, locked_until) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, locked_until = excluded.locked_until
     WHERE job_locks.locked_until < ?
     RETURNING owner`,
    [JOB, owner, new Date(now.getTime() + ttlMs).toISOString(), now.toISOString()],
  );
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ owner: string }>;
  return rows[0]?.owner === owner;
}

/**
 * An organization's memberships flagged before `cutoff`. `status = 'flagged'` is written into the
 * SQL, not bound: the flagged-at index is partial on it (migration 306).
 */
export const oldFlagsQuery = (db: Executor, organizationId: string, cutoff: string, limit: number) =>
  db('memberships')
    .where('organization_id', organizationId)
    .whereRaw(flaggedOnly())
    .where('flagged_at', '<', cutoff)
    .orderBy('user_id')
    .limit(limit)
    .select<MembershipBrief[]>('user_id', 'role', 'status', 'source', 'flagged_reason');

export type AutoRemoveOutcome = { kind: 'skipped'; reason: 'lease_held' } | { kind: 'ran'; removed: number };

/**
 * Removes memberships flagged for longer than their connection's `auto_remove_flagged_after_days`
 * (off unless a connection sets it). Every instance may run the timer; a lease in `job_locks`
 * held for one interval lets exactly one of them do the work per interval. Removals are audited
 * with the system actor and leave removal records, like an admin's.
 */
export class AutoRemoveJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly deps: { db: Db; clock: Clock; audit: AuditService; events: EventService; logger: Logger },
    private readonly owner: string,
    private readonly intervalMs = 15 * 60_000,
  ) {}

  async runOnce(): Promise<AutoRemoveOutcome> {
    const { db, clock } = this.deps;
    if (!(await tryLease(db, this.owner, clock.now(), this.intervalMs))) return { kind: 'skipped', reason: 'lease_held' };
    const connections = await db('connections')
      .whereNotNull('auto_remove_flagged_after_days')
      .select<Array<{ id: string; auto_remove_flagged_after_days: number }>>('id', 'auto_remove_flagged_after_days');
    let removed = 0;
    for (const conn of connections) {
      const cutoff = new Date(clock.now().getTime() - Number(conn.auto_remove_flagged_after_days) * 86_400_000).toISOString();
      const orgs = await db<OrganizationRow>('organizations').where({ connection_id: conn.id });
      for (const org of orgs) removed += await this.removeOld(org, cutoff, conn.auto_remove_flagged_after_days);
    }
    return { kind: 'ran', removed };
  }

  /** One transaction per batch, so a huge backlog never holds one long lock. */
  private async removeOld(org: OrganizationRow, cutoff: string, days: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await inTransaction(this.deps.db, async (trx) => {
        const old = await oldFlagsQuery(trx, org.id, cutoff, BATCH);
        const at = this.deps.clock.now().toISOString();
        await removeMemberships(trx, { audit: this.deps.audit, events: this.deps.events, at }, org, old, systemActor, { auto_remove_flagged_after_days: days });
        return old.length;
      });
      total += n;
      if (n < BATCH) return total;
    }
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.running = this.runOnce().then(
        (r) => {
          if (r.kind === 'ran' && r.removed > 0) this.deps.logger.info({ removed: r.removed }, 'auto-removed long-flagged memberships');
        },
        (err: unknown) => this.deps.logger.error({ err }, 'auto-remove of flagged memberships failed'),
      );
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    tick();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
