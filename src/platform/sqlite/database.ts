import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { openConnection } from './connection.js';
import { SqlitePool } from './pool.js';
import { SqliteTransactions } from './transactions.js';
import { SqliteBackground } from './background.js';

/** Where a SQLite database reports what nobody awaits (a failed background checkpoint). */
export interface SqliteLog {
  error(message: string, err: Error): void;
}

/** What orgsync keeps beside the knex instance of a SQLite database. */
export interface SqliteDatabase {
  pool: SqlitePool;
  transactions: SqliteTransactions;
  /** File databases only. */
  background?: SqliteBackground;
}

const databases = new WeakMap<Knex, SqliteDatabase>();

/** The SQLite side of a database created by `createSqliteDb`, or undefined (PostgreSQL, a transaction). */
export const sqliteOf = (db: unknown): SqliteDatabase | undefined => databases.get(db as Knex);

/**
 * A SQLite database: one connection owned here (better-sqlite3 runs statements synchronously, so one
 * connection serialises this process's writers without lock races), given to knex as its pool, plus
 * the write transactions and, for a file, the background worker. `destroy()` closes all of them.
 */
export function createSqliteDb(path: string, knexLog: Knex.Config['log'], log: SqliteLog, checkpointEveryMs?: number): Knex {
  const filename = path === ':memory:' ? ':memory:' : resolve(path);
  if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
  const connection = openConnection(filename);
  const pool = new SqlitePool(connection);
  const db = knexFactory({ log: knexLog, client: 'better-sqlite3', useNullAsDefault: true, connectionPool: pool });
  const background = filename === ':memory:' ? undefined : new SqliteBackground(filename, (message, err) => log.error(message, err), checkpointEveryMs);
  databases.set(db, { pool, transactions: new SqliteTransactions(pool, db), background });
  // knex leaves an external pool to its owner: destroying the database also stops the worker and
  // closes the connection, once whatever holds it has finished.
  const destroyKnex = db.destroy.bind(db) as () => Promise<void>;
  Object.defineProperty(db, 'destroy', {
    configurable: true,
    value: async (callback?: (err?: unknown) => void) => {
      try {
        await destroyKnex();
        await background?.stop();
        await pool.close();
        callback?.();
      } catch (err) {
        if (callback) callback(err);
        else throw err;
      }
    },
  });
  return db;
}
