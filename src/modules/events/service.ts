import type { Db, Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';

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

export interface EventInput {
  type: EventType;
  organizationId?: string | null;
  userId?: string | null;
  data?: Record<string, unknown>;
}

export interface OrgsyncEvent {
  cursor: string;
  id: string;
  type: EventType;
  at: string;
  organization_id: string | null;
  user_id: string | null;
  data: Record<string, unknown>;
}

interface EventRow {
  seq: number | string;
  id: string;
  type: EventType;
  at: string;
  organization_id: string | null;
  user_id: string | null;
  data: string;
}

export const toEvent = (r: EventRow): OrgsyncEvent => ({
  cursor: String(r.seq),
  id: r.id,
  type: r.type,
  at: r.at,
  organization_id: r.organization_id,
  user_id: r.user_id,
  data: parseJson(r.data, {}),
});

/**
 * The outbox. `emit` must be called with the transaction of the change it describes, so the event
 * exists exactly when the change does. The sequence number is the replay cursor.
 */
export class EventService {
  constructor(private readonly db: Db, private readonly clock: Clock, private readonly ids: IdGenerator) {}

  async emit(exec: Executor, ...events: EventInput[]): Promise<void> {
    if (events.length === 0) return;
    const at = this.clock.now().toISOString();
    const rows = events.map((e) => ({
      id: this.ids.uuid(),
      type: e.type,
      at,
      organization_id: e.organizationId ?? null,
      user_id: e.userId ?? null,
      data: JSON.stringify(e.data ?? {}),
    }));
    for (let i = 0; i < rows.length; i += 100) await exec('events').insert(rows.slice(i, i + 100));
  }

  async list(f: { after?: number; take: number; organizationId?: string; types?: string[] }): Promise<OrgsyncEvent[]> {
    const q = this.db<EventRow>('events').orderBy('seq', 'asc').limit(f.take);
    if (f.after !== undefined) q.where('seq', '>', f.after);
    if (f.organizationId) q.where('organization_id', f.organizationId);
    if (f.types?.length) q.whereIn('type', f.types);
    return (await q).map(toEvent);
  }
}
