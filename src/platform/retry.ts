import type { Db, Trx } from './db.js';
import { dialectOf, inTransaction } from './db.js';
import { isRetryable, isUniqueViolation } from './db-errors.js';

/**
 * Runs `fn` in a transaction and runs it again (a fresh transaction, so it sees what the other
 * writer committed) when it lost a race: a serialization failure or deadlock, SQLite busy, or a
 * unique violation from a concurrent insert of the same row (two instances creating one identity or
 * membership at once). A unique violation that persists is a real conflict and is rethrown.
 */
export async function retryingTransaction<T>(db: Db, fn: (trx: Trx) => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(db, fn);
    } catch (err) {
      if (attempt >= attempts || !(isRetryable(err) || isUniqueViolation(err))) throw err;
      // Jitter so two instances that collided do not collide again in lockstep.
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}

/**
 * Serialises transactions that would otherwise create the same thing at once (two users with one
 * email from a SCIM create and a sign-in on different instances). Held until the transaction ends.
 * SQLite has a single writer, so it needs nothing.
 */
export async function lockKeys(trx: Trx, keys: string[]): Promise<void> {
  if (dialectOf(trx) !== 'pg') return;
  // Sorted, so two transactions taking several keys never wait on each other in a cycle.
  for (const key of [...new Set(keys)].sort()) await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [key]);
}
