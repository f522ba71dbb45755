import type { Executor } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { EventType } from './service.js';

export interface EventRow {
  seq: number | string;
  id: string;
  type: EventType;
  at: string;
  organization_id: string | null;
  user_id: string | null;
  data: string;
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

export const toEvent = (r: EventRow): OrgsyncEvent => ({
  cursor: String(r.seq),
  id: r.id,
  type: r.type,
  at: r.at,
  organization_id: r.organization_id,
  user_id: r.user_id,
  data: parseJson(r.data, {}),
});

export interface EventFilter {
  after?: number;
  /** Upper bound (inclusive), so a scan can stop at a sequence number read earlier. */
  upTo?: number;
  take: number;
  organizationId?: string;
  userId?: string;
  types?: readonly string[];
}

export function listEvents(db: Executor, f: EventFilter): Promise<EventRow[]> {
  // Numbers start at 1: `> 0` also leaves out PostgreSQL rows not numbered yet (see sequencer.ts).
  const q = db<EventRow>('events').orderBy('seq', 'asc').limit(f.take).where('seq', '>', f.after ?? 0);
  if (f.upTo !== undefined) q.where('seq', '<=', f.upTo);
  if (f.organizationId) q.where('organization_id', f.organizationId);
  if (f.userId) q.where('user_id', f.userId);
  if (f.types?.length) q.whereIn('type', f.types);
  return q;
}

export async function maxEventSeq(db: Executor): Promise<number> {
  const row = await db('events').max<{ m: number | string | null }[]>({ m: 'seq' }).first();
  return Number(row?.m ?? 0);
}

/**
 * Deletes up to `limit` events older than `before`; returns how many went. Events are appended in
 * time order, so the oldest are the lowest `seq`: only the first `limit` numbered rows are ever
 * examined (on PostgreSQL the `seq` index holds numbered rows only, and rows not numbered yet are
 * the newest).
 */
export async function deleteEventsBefore(db: Executor, before: string, limit: number): Promise<number> {
  return db('events')
    .whereIn('seq', db('events').select('seq').whereNotNull('seq').orderBy('seq').limit(limit))
    .where('at', '<', before)
    .delete();
}
