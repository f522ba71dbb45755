import type { Db, Executor, Trx } from '../../platform/db.js';
import { dialectOf, insertRows } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { listEvents, toEvent, type EventFilter, type EventRow, type OrgsyncEvent } from './queries.js';
import { inTransaction } from '../../platform/transaction.js';

export { toEvent, type OrgsyncEvent } from './queries.js';

/** Event types are the audit action names for membership and user lifecycle changes. */
export const EVENT_TYPES = [
  'membership.added',
  'membership.role_changed',
  'membership.flagged',
  'membership.restored',
  'membership.removed',
  'user.provisioned',
  'user.updated',
  'user.deactivated',
  'user.reactivated',
  'user.deleted',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (s: string): s is EventType => (EVENT_TYPES as readonly string[]).includes(s);

export interface EventInput {
  type: EventType;
  organizationId?: string | null;
  userId?: string | null;
  data?: Record<string, unknown>;
}

/** Any constant works; it only has to be the same in every instance sharing the database. */
const OUTBOX_LOCK_KEY = 7_242_010_001;

/**
 * The outbox. `emit` must be called with the transaction of the change it describes, so the event
 * exists exactly when the change does. The sequence number is the replay cursor.
 *
 * Readers advance a cursor past every sequence number they have seen, so a number must never become
 * visible after a higher one. PostgreSQL hands out sequence values at insert time, not at commit, so
 * on PostgreSQL `emit` takes a transaction-scoped advisory lock: event-writing transactions commit
 * in sequence order. The lock is held from `emit` to commit, so call `emit` after the change's other
 * writes. SQLite has a single writer, which gives the same guarantee for free.
 */
export class EventService {
  constructor(private readonly db: Db, private readonly clock: Clock, private readonly ids: IdGenerator) {}

  async emit(exec: Executor, ...events: EventInput[]): Promise<void> {
    if (events.length === 0) return;
    if (dialectOf(exec) === 'pg' && !(exec as Trx).isTransaction) {
      // An xact lock outside a transaction would be released before the insert commits.
      await inTransaction(exec as Db, (trx) => this.emit(trx, ...events));
      return;
    }
    const at = this.clock.now().toISOString();
    const rows: Omit<EventRow, 'seq'>[] = events.map((e) => ({
      id: this.ids.uuid(),
      type: e.type,
      at,
      organization_id: e.organizationId ?? null,
      user_id: e.userId ?? null,
      data: JSON.stringify(e.data ?? {}),
    }));
    if (dialectOf(exec) === 'pg') await exec.raw('SELECT pg_advisory_xact_lock(?)', [OUTBOX_LOCK_KEY]);
    await insertRows(exec, 'events', rows);
  }

  /** Events after a cursor, oldest first. */
  async list(f: EventFilter): Promise<OrgsyncEvent[]> {
    return (await listEvents(this.db, f)).map(toEvent);
  }
}
