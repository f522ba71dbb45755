import type { Db, Executor } from '../../platform/db.js';
import { insertRows } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { listEvents, toEvent, type EventFilter, type EventRow, type OrgsyncEvent } from './queries.js';
import { sequenceEvents } from './sequencer.js';
import { jsonOnce, NO_DETAIL } from '../../platform/json-once.js';

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

/**
 * The outbox. `emit` must be called with the transaction of the change it describes, so the event
 * exists exactly when the change does. The sequence number is the replay cursor.
 *
 * Readers advance a cursor past every sequence number they have seen, so a number must never become
 * visible after a higher one. SQLite has a single writer: numbers assigned at insert commit in order.
 * PostgreSQL assigns sequence values at insert time, not at commit, so there rows are written without
 * a number and numbered after they commit (`sequenceEvents`); readers call it first and read numbered
 * rows only. Writers therefore never wait for each other here. Call `emit` after the change's other
 * writes all the same: events of one run of the sequencer are numbered in the order they were written.
 */
export class EventService {
  constructor(private readonly db: Db, private readonly clock: Clock, private readonly ids: IdGenerator) {}

  async emit(exec: Executor, ...events: EventInput[]): Promise<void> {
    await insertRows(exec, 'events', this.rows(...events));
  }

  /** The rows `emit` writes, for a caller that inserts them with its own rows (`insertBatch`), after the change's other rows. */
  rows(...events: EventInput[]): Array<Omit<EventRow, 'seq'>> {
    const at = this.clock.now().toISOString();
    const json = jsonOnce();
    return events.map((e) => ({
      id: this.ids.uuid(),
      type: e.type,
      at,
      organization_id: e.organizationId ?? null,
      user_id: e.userId ?? null,
      data: json(e.data ?? NO_DETAIL),
    }));
  }

  /** Events after a cursor, oldest first. */
  async list(f: EventFilter): Promise<OrgsyncEvent[]> {
    await sequenceEvents(this.db);
    return (await listEvents(this.db, f)).map(toEvent);
  }
}
