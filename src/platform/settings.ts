import { randomBytes } from 'node:crypto';
import type { Db } from './db.js';
import type { Clock } from './clock.js';

/**
 * ORGSYNC_SECRET when set; otherwise one generated on first start and kept in the database,
 * so every instance on that database agrees on it.
 */
export async function resolveSecret(db: Db, clock: Clock, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  const existing = await db('settings').where({ key: 'secret' }).first<{ value: string } | undefined>();
  if (existing) return existing.value;
  const generated = randomBytes(32).toString('base64url');
  await db('settings').insert({ key: 'secret', value: generated, updated_at: clock.now().toISOString() }).onConflict('key').ignore();
  const stored = await db('settings').where({ key: 'secret' }).first<{ value: string }>();
  return stored!.value;
}
