import type { Db, Trx } from './db.js';
import { dialectOf, selectRowsTogether } from './db.js';
import { isRetryable, isUniqueViolation } from './db-errors.js';
import { sqliteOf } from './sqlite/database.js';
import { pgTransactionsOf } from './pg-transactions.js';

/** A transaction that keeps losing races after this many runs gives up with the last error. */
const ATTEMPTS = 4;

export interface TransactionOptions {
  /**
   * Whether this unique violation may be a race that running again resolves: the transaction looked
   * for the row before inserting it, and another instance inserted it in between (find-or-create);
   * run again, the transaction finds it. A violation of a key the transaction did not look up first
   * (a SCIM `userName` that is simply taken) is a real conflict: do not retry it. Only PostgreSQL can
   * lose such a race: on SQLite a write transaction holds the write lock from its first statement,
   * so everything it read stays true until it commits, and a unique violation is never retried.
   */
  retryUniqueViolation?: (err: unknown) => boolean;
  /**
   * PostgreSQL: the write may share its transaction with writes of the same kind that arrive with it
   * (`PgTransactions.runTogether`: group commit under concurrent load; alone, it runs at once). For
   * short writes that take no lock such a neighbour could take in the opposite order.
   */
  together?: boolean;
}

/**
 * The one way orgsync writes: runs `fn` in a transaction and commits when it resolves, rolls back
 * when it throws. Query functions take the transaction first.
 *
 * - SQLite: the transaction begins `IMMEDIATE` on the process's one connection (SqliteTransactions):
 *   it waits, through the busy timeout, for a write of another process (the CLI) or the checkpoint
 *   worker to finish instead of failing when it first writes. One still busy after that runs again.
 * - PostgreSQL: a transaction on one pooled connection (PgTransactions, pg-transactions.ts), run again (a fresh transaction that sees what the other writer
 *   committed) after a serialization failure or deadlock, and after a unique violation the caller
 *   says may be a lost race (`retryUniqueViolation`).
 *
 * Runs that lost wait a few random milliseconds, so two instances that collided do not collide
 * again in lockstep. `fn` may run more than once: it must not have effects outside the database
 * that a rolled-back run would leave behind.
 */
export async function inTransaction<T>(db: Db, fn: (trx: Trx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const sqlite = sqliteOf(db);
  for (let attempt = 1; ; attempt++) {
    try {
      const pg = sqlite ? undefined : pgTransactionsOf(db);
      if (sqlite) return await sqlite.transactions.run(fn);
      if (!pg) return await db.transaction((trx) => fn(trx as Trx));
      return await (options.together ? pg.runTogether(fn as (trx: Db) => Promise<T>) : pg.run(fn as (trx: Db) => Promise<T>));
    } catch (err) {
      const again = isRetryable(err) || (!sqlite && isUniqueViolation(err) && options.retryUniqueViolation?.(err) === true);
      if (attempt >= ATTEMPTS || !again) throw err;
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
  if (dialectOf(trx) !== 'pg' || keys.length === 0) return;
  // Usually a transaction's first statement: it goes in one message with the BEGIN.
  await selectRowsTogether(trx, [{ sql: `SELECT ${LOCK_KEYS_SQL} AS "locks"`, bindings: [[...new Set(keys)]] }]);
}

/**
 * One expression that takes the advisory lock of every key in the array bound to it, in byte order
 * of the keys, so two transactions taking several keys never wait on each other in a cycle; its
 * value is the number of keys. A scalar subquery: other reads can share its statement (their
 * snapshot is taken before the locks are, so only what the locks do not guard may be read with them).
 */
export const LOCK_KEYS_SQL = '(SELECT count(pg_advisory_xact_lock(hashtextextended("k", 0))) FROM (SELECT DISTINCT "k" COLLATE "C" AS "k" FROM unnest(?::text[]) AS "k" ORDER BY 1) AS "keys")';
