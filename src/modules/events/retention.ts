import type { Db } from '../../platform/db.js';
import { deleteEventsBefore } from './queries.js';
import { sequenceEvents } from './sequencer.js';
import { tryAcquireLease } from './job-lease.js';
import { deleteFinishedDeliveriesBefore } from '../webhooks/delivery-queries.js';

const BATCH = 5000;
const DAY_MS = 86_400_000;
/** At most one prune per hour across all instances sharing the database. */
export const PRUNE_LEASE_MS = 3_600_000;

export interface PruneResult {
  ran: boolean;
  events: number;
  deliveries: number;
}

/**
 * Deletes events older than the retention window, and finished webhook deliveries of the same age,
 * in small batches so no transaction holds locks for long. Pending deliveries are kept: they still
 * have to reach their endpoint.
 */
export async function pruneExpired(db: Db, opts: { now: Date; retentionDays: number; owner: string }): Promise<PruneResult> {
  if (!(await tryAcquireLease(db, 'events.prune', opts.owner, opts.now, PRUNE_LEASE_MS))) return { ran: false, events: 0, deliveries: 0 };
  const before = new Date(opts.now.getTime() - opts.retentionDays * DAY_MS).toISOString();
  // Deletes go by sequence number (PostgreSQL numbers rows after commit): number what is waiting first.
  await sequenceEvents(db);
  let events = 0;
  let n: number;
  do {
    n = await deleteEventsBefore(db, before, BATCH);
    events += n;
  } while (n === BATCH);
  let deliveries = 0;
  do {
    n = await deleteFinishedDeliveriesBefore(db, before, BATCH);
    deliveries += n;
  } while (n === BATCH);
  return { ran: true, events, deliveries };
}
