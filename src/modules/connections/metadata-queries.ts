import type { Executor } from '../../platform/db.js';

/** Where a metadata-URL connection stands: next fetch, and how the last one ended. */
export interface MetadataRefreshRow {
  connection_id: string;
  next_refresh_at: string;
  last_attempt_at: string | null;
  last_success_at: string | null;
  last_error: string | null;
  failures: number;
  valid_until: string | null;
}

export const findRefreshState = (db: Executor, connectionId: string) => db<MetadataRefreshRow>('saml_metadata_refresh').where({ connection_id: connectionId }).first();

export async function upsertRefreshState(db: Executor, row: MetadataRefreshRow): Promise<void> {
  await db('saml_metadata_refresh').insert(row).onConflict('connection_id').merge();
}

export async function deleteRefreshState(db: Executor, connectionId: string): Promise<void> {
  await db('saml_metadata_refresh').where({ connection_id: connectionId }).delete();
}

export function dueRefreshes(db: Executor, now: string, take: number): Promise<Array<{ connection_id: string }>> {
  return db('saml_metadata_refresh').where('next_refresh_at', '<=', now).orderBy('next_refresh_at').limit(take).select('connection_id');
}
