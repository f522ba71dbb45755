import type { Executor } from '../../platform/db.js';

/** The names keys were created with, by id (for pages that say who did something). */
export async function apiKeyNames(db: Executor, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db('api_keys').whereIn('id', ids.slice(0, 500)).select<{ id: string; name: string }[]>('id', 'name');
  return new Map(rows.map((r) => [r.id, r.name] as const));
}
