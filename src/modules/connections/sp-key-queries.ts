import type { Executor } from '../../platform/db.js';
import type { SpKeyStatus, SpKeyUse } from './sp-keys.js';

export interface SpKeyRow {
  id: string;
  connection_id: string;
  use: SpKeyUse;
  status: SpKeyStatus;
  kid: string;
  certificate: string;
  private_key_sealed: string;
  created_at: string;
  rotated_at: string | null;
  retire_after: string | null;
}

/**
 * The connection's keys that still count: a previous key whose overlap has run out is gone for
 * every purpose from that instant, whether or not a write has deleted it yet. Current keys first.
 */
export function liveKeys(db: Executor, connectionId: string, now: string): Promise<SpKeyRow[]> {
  return db<SpKeyRow>('sp_keys')
    .where({ connection_id: connectionId })
    .where((w) => w.whereNull('retire_after').orWhere('retire_after', '>', now))
    .orderByRaw(`CASE WHEN "status" = 'current' THEN 0 ELSE 1 END`)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc');
}

/** Every stored key of the connection, expired previous ones included, in the same order. */
export function allKeys(db: Executor, connectionId: string): Promise<SpKeyRow[]> {
  return db<SpKeyRow>('sp_keys')
    .where({ connection_id: connectionId })
    .orderByRaw(`CASE WHEN "status" = 'current' THEN 0 ELSE 1 END`)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc');
}

export async function insertKey(db: Executor, row: SpKeyRow): Promise<void> {
  await db('sp_keys').insert(row);
}

/** Deletes the previous keys whose overlap ended; returns them (for the audit log). */
export async function deleteExpired(db: Executor, connectionId: string, now: string): Promise<SpKeyRow[]> {
  const rows = await db<SpKeyRow>('sp_keys').where({ connection_id: connectionId, status: 'previous' }).whereNotNull('retire_after').where('retire_after', '<=', now);
  if (rows.length) await db('sp_keys').whereIn('id', rows.map((r) => r.id)).delete();
  return rows;
}

export async function demoteCurrent(db: Executor, connectionId: string, use: SpKeyUse, at: string, retireAfter: string | null): Promise<void> {
  await db('sp_keys').where({ connection_id: connectionId, use, status: 'current' }).update({ status: 'previous', rotated_at: at, retire_after: retireAfter });
}

export async function deleteKeys(db: Executor, connectionId: string, ids: string[]): Promise<void> {
  await db('sp_keys').where({ connection_id: connectionId }).whereIn('id', ids).delete();
}
