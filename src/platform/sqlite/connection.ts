import Database, { type Database as Connection, type Statement } from 'better-sqlite3';

/** How long a statement waits for another process's write lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;
/**
 * The writer's own checkpoint threshold, a backstop: the background worker checkpoints and starts
 * the WAL over long before (see background.ts).
 */
const AUTOCHECKPOINT_PAGES = 20_000;

/** Opens the one connection this process uses for a SQLite database, configured for orgsync. */
export function openConnection(filename: string): Connection {
  const connection = new Database(filename);
  try {
    if (filename !== ':memory:') connection.pragma('journal_mode = WAL');
    connection.pragma('synchronous = NORMAL');
    connection.pragma('foreign_keys = ON');
    connection.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Statement journals (a statement inside a transaction that may fail half-way) stay in memory
    // instead of a temporary file created and deleted every few SCIM writes.
    connection.pragma('temp_store = MEMORY');
    if (filename !== ':memory:') connection.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    cacheStatements(connection);
    return connection;
  } catch (err) {
    connection.close();
    throw err;
  }
}

/**
 * knex prepares every SQLite statement anew; preparing costs about as much as running a small indexed
 * query. Statements are reusable (each run completes synchronously), so keep the recent ones, keyed
 * by their SQL (bindings are separate). knex's own transactions (migrations) begin with a deferred
 * `BEGIN`, which fails with SQLITE_BUSY when it first writes while another connection holds the
 * write lock; they begin `IMMEDIATE` here like ours, waiting for the lock up front instead.
 */
function cacheStatements(connection: Connection): void {
  const prepare = connection.prepare.bind(connection);
  const cache = new Map<string, Statement>();
  connection.prepare = ((source: string) => {
    const sql = source === 'BEGIN;' ? 'BEGIN IMMEDIATE;' : source;
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      if (cache.size >= 500) cache.clear();
      cache.set(sql, statement);
    }
    return statement;
  }) as Connection['prepare'];
}
