import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import knexFactory, { type Knex } from 'knex';
import { migrationSource } from '../../migrations/index.js';

export type Db = Knex;
export type Trx = Knex.Transaction;
/** Either the root connection or a transaction: query functions accept both. */
export type Executor = Knex | Knex.Transaction;

/** Where knex's own warnings go (instead of the console). */
export interface DbLog {
  warn(message: string): void;
  error(message: string): void;
}

export interface DbOptions {
  log?: DbLog;
  /** PostgreSQL schema to use (tests isolate each run in its own). */
  searchPath?: string;
  pool?: { min?: number; max?: number };
}

export function dialectOf(db: Executor): 'sqlite' | 'pg' {
  return db.client.config.client === 'pg' ? 'pg' : 'sqlite';
}

export function createDb(url: string, options: DbOptions = {}): Db {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    const filename = path === ':memory:' ? ':memory:' : resolve(path);
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    const db = knexFactory({
      log: knexLog(options.log),
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      // better-sqlite3 is synchronous: one connection serialises writers without SQLITE_BUSY races.
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { pragma: (s: string) => unknown; prepare: (sql: string) => unknown }, done: (err: Error | null, conn: unknown) => void) => {
          try {
            cacheStatements(conn);
            if (filename !== ':memory:') conn.pragma('journal_mode = WAL');
            conn.pragma('synchronous = NORMAL');
            conn.pragma('foreign_keys = ON');
            conn.pragma('busy_timeout = 5000');
            // Statement journals (a statement inside a transaction that may fail half-way) stay in
            // memory instead of a temporary file created and deleted every few SCIM writes.
            conn.pragma('temp_store = MEMORY');
            // Checkpoints run in a worker (below); this is only the backstop for a WAL that keeps growing.
            if (filename !== ':memory:') conn.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
            done(null, conn);
          } catch (err) {
            done(err as Error, conn);
          }
        },
      },
    });
    // The file exists once the first connection is open; the pool opens it eagerly (min: 1).
    if (filename !== ':memory:') void db.raw('select 1').then(() => startBackground(db, filename), () => {});
    return db;
  }
  return knexFactory({
    log: knexLog(options.log),
    client: 'pg',
    connection: url,
    searchPath: options.searchPath ? [options.searchPath] : undefined,
    pool: { min: options.pool?.min ?? 0, max: options.pool?.max ?? 10 },
    acquireConnectionTimeout: 10_000,
  });
}

/**
 * SQLite checkpoints the WAL into the database file whenever the WAL passes its threshold, inside the
 * commit that crossed it, with two fsyncs: at the default 1,000 pages that is every few dozen SCIM
 * writes, each paying tens of milliseconds on the request path. Instead a worker thread with its own
 * connection copies committed pages into the database file with PASSIVE checkpoints (they never block
 * readers or the writer), within 25 ms of a commit, on the machine's other core.
 *
 * Under a steady stream of writes a passive checkpoint rarely finds the WAL fully copied, and only a
 * fully copied WAL is started over from its beginning. So once the WAL holds 10,000 pages (about
 * 40 MB) the worker follows its passive checkpoint with a RESTART one that does not wait: if no write
 * is under way it takes the write lock, copies the pages written since, and resets the WAL (a write
 * arriving meanwhile waits for it, a few milliseconds); otherwise it tries again at the next poll.
 * Writes back to back without a gap (a bulk load) leave it no chance: then SQLite's own threshold,
 * raised to 20,000 pages, has the commit that crossed it copy what the worker has not, and the next
 * write starts the WAL over. Before, the worker ran once a second and the writer's threshold did every
 * restart: at about 900 SCIM creates a second that commit copied the whole WAL, about 75 ms a second.
 *
 * The same worker answers the read-only statements of `selectRows` (SCIM lists and filters) on its
 * connection: they run on the other core instead of between the HTTP work of the main thread, and
 * see every committed write, as any new SQLite read transaction does.
 */
const AUTOCHECKPOINT_PAGES = 20_000;
/** The worker starts the WAL over once it holds this many pages (about 40 MB). */
const RESTART_PAGES = 10_000;
/** How often the worker looks for new commits to checkpoint; at least every CHECKPOINT_EVERY_MS regardless. */
const CHECKPOINT_POLL_MS = 25;
const CHECKPOINT_EVERY_MS = 1000;

const BACKGROUND_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('query_only = ON');
// data_version changes whenever another connection (the server's writer, the CLI) has committed: a
// checkpoint follows every commit within one poll (reading it costs a few microseconds). It also
// runs at least every everyMs, for a checkpoint a long read kept from finishing.
const dataVersion = db.prepare('PRAGMA data_version').pluck();
let seen = -1; // the first poll checkpoints whatever was committed before the worker started
let last = Date.now();
setInterval(() => {
  try {
    const now = Date.now();
    const version = dataVersion.get();
    if (version === seen && now - last < workerData.everyMs) return;
    seen = version;
    last = now;
    const [passive] = db.pragma('wal_checkpoint(PASSIVE)');
    if (passive && passive.log >= workerData.restartPages) {
      // Start the WAL over: with no busy wait, this takes the write lock only if no write is under
      // way (else it is one more passive checkpoint, and the next poll tries again), copies the few
      // pages written since the passive one, and resets the WAL.
      db.pragma('busy_timeout = 0');
      try { db.pragma('wal_checkpoint(RESTART)'); } finally { db.pragma('busy_timeout = 5000'); }
    }
  } catch {}
}, workerData.pollMs);
const statements = new Map();
parentPort.on('message', ({ id, sql, bindings }) => {
  try {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (!statement.reader) throw Object.assign(new Error('only statements that return rows run here'), { code: 'ORGSYNC_NOT_A_READ' });
      if (statements.size >= 500) statements.clear();
      statements.set(sql, statement);
    }
    parentPort.postMessage({ id, rows: statement.all(bindings) });
  } catch (err) {
    parentPort.postMessage({ id, error: { message: err.message, code: err.code } });
  }
});
`;

interface Pending {
  resolve: (rows: unknown[]) => void;
  reject: (err: Error) => void;
}

/** The main thread's side of the background worker: it checkpoints after commits, and answers reads on request. */
class SqliteBackground {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Reads answered by the worker so far. */
  served = 0;
  private alive = true;

  constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (m: { id: number; rows?: unknown[]; error?: { message: string; code?: string } }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else {
        this.served++;
        p.resolve(m.rows ?? []);
      }
    });
    const fail = (err: Error) => {
      this.alive = false;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('the SQLite background worker has stopped')));
  }

  get available(): boolean {
    return this.alive;
  }

  /** Reads are waiting on the worker: requests are arriving concurrently. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  all(sql: string, bindings: unknown[]): Promise<unknown[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // Referenced while a read is pending: a CLI awaiting one must not exit under it.
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, sql, bindings });
    });
  }

  stop(): void {
    this.alive = false;
    void this.worker.terminate();
  }
}

const backgrounds = new WeakMap<Db, SqliteBackground>();

/** How many reads the background connection of a SQLite file database has answered (0 if none). */
export const backgroundReads = (db: Db): number => backgrounds.get(db)?.served ?? 0;

/** The single pooled connection is taken (a transaction or a statement holds it, or others wait). */
function poolBusy(db: Executor): boolean {
  const pool = (db.client as { pool?: { numUsed(): number; numPendingAcquires(): number } }).pool;
  return !!pool && (pool.numUsed() > 0 || pool.numPendingAcquires() > 0);
}

function startBackground(db: Db, filename: string): void {
  const background = new SqliteBackground(
    new Worker(BACKGROUND_WORKER, {
      eval: true,
      workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), filename, pollMs: CHECKPOINT_POLL_MS, everyMs: CHECKPOINT_EVERY_MS, restartPages: RESTART_PAGES },
    }),
  );
  backgrounds.set(db, background);
  // knex drops its pool on destroy(): the worker ends with it.
  const watch = setInterval(() => {
    if ((db.client as { pool?: unknown }).pool) return;
    clearInterval(watch);
    backgrounds.delete(db);
    background.stop();
  }, 200);
  watch.unref();
}

function knexLog(log: DbLog | undefined) {
  const text = (m: unknown) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m));
  return {
    warn: (m: unknown) => log?.warn(text(m)),
    error: (m: unknown) => log?.error(text(m)),
    deprecate: (m: unknown) => log?.warn(text(m)),
    debug: () => {},
  };
}

/**
 * knex prepares every SQLite statement anew; preparing costs about as much as running a small indexed
 * query. Statements are reusable (each run completes synchronously), so keep the recent ones per
 * connection, keyed by their SQL (bindings are separate).
 */
function cacheStatements(conn: { prepare: (sql: string) => unknown }): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      if (cache.size >= 500) cache.clear();
      cache.set(sql, statement);
    }
    return statement;
  };
}

export async function migrateLatest(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource });
}

export async function migrateDown(db: Db, all = false): Promise<void> {
  if (all) await db.migrate.rollback({ migrationSource }, true);
  else await db.migrate.down({ migrationSource });
}

/** Runs `fn` in a transaction; query helpers take the transaction first. */
export function inTransaction<T>(db: Db, fn: (trx: Trx) => Promise<T>): Promise<T> {
  return dialectOf(db) === 'sqlite' ? sqliteTransaction(db, fn) : db.transaction(fn);
}

/**
 * SQLite has one pooled connection, so one transaction at a time holds it. knex builds a whole new
 * knex instance for every transaction (about a hundred closures and four listeners, 0.1 ms and a
 * good share of the garbage of a SCIM write); here one transaction-bound instance per database is
 * built once and pointed at the connection while its holder runs. `BEGIN IMMEDIATE` takes the write
 * lock up front, so a second process (the CLI) waits on the busy timeout instead of failing later.
 */
class SqliteTransactions {
  private holder: { connection: SqliteConnection } | undefined;
  private readonly trx: Trx;

  constructor(private readonly db: Db) {
    const trx = knexFactory({ client: 'better-sqlite3', useNullAsDefault: true }) as unknown as Trx & { isTransaction: boolean };
    const client = trx.client as unknown as PooledClient & { query(conn: SqliteConnection, obj: unknown): Promise<unknown>; on(event: string, fn: (...args: unknown[]) => void): void };
    const completed = () => new Error('Transaction query already complete: the transaction has ended.');
    const query = client.query.bind(client);
    client.query = (conn, obj) => (this.holder?.connection === conn ? query(conn, obj) : Promise.reject(completed()));
    client.acquireConnection = () => (this.holder ? Promise.resolve(this.holder.connection) : Promise.reject(completed()));
    client.releaseConnection = () => Promise.resolve();
    // Listeners of the database see these statements as they see every other one.
    const root = db.client as unknown as { emit(event: string, ...args: unknown[]): void };
    for (const event of ['start', 'query', 'query-error', 'query-response']) client.on(event, (...args) => root.emit(event, ...args));
    trx.isTransaction = true;
    this.trx = trx;
  }

  async run<T>(fn: (trx: Trx) => Promise<T>): Promise<T> {
    const pool = this.db.client as unknown as PooledClient;
    const connection = await pool.acquireConnection();
    const holder = { connection };
    this.holder = holder;
    try {
      connection.exec('BEGIN IMMEDIATE');
      const result = await fn(this.trx);
      connection.exec('COMMIT');
      return result;
    } catch (err) {
      if (connection.inTransaction) connection.exec('ROLLBACK');
      throw err;
    } finally {
      if (this.holder === holder) this.holder = undefined;
      await pool.releaseConnection(connection);
    }
  }
}

const sqliteTransactions = new WeakMap<Db, SqliteTransactions>();

function sqliteTransaction<T>(db: Db, fn: (trx: Trx) => Promise<T>): Promise<T> {
  let t = sqliteTransactions.get(db);
  if (!t) {
    t = new SqliteTransactions(db);
    sqliteTransactions.set(db, t);
  }
  return t.run(fn);
}

export type SqlValue = string | number | boolean | null;
interface SqliteConnection {
  prepare(sql: string): { all(bindings: unknown[]): unknown[]; run(bindings: unknown[]): unknown };
  exec(sql: string): void;
  readonly inTransaction: boolean;
}
interface PooledClient {
  acquireConnection(): Promise<SqliteConnection>;
  releaseConnection(connection: SqliteConnection): Promise<unknown>;
}

/**
 * Runs one read-only statement written in SQL that both databases accept (double-quoted identifiers,
 * `?` placeholders) and returns its rows. On a SQLite file, outside a transaction, it runs on the
 * background worker's connection when `offThread` is asked for (several clients at once), when reads
 * already queue there, or when a write holds the pooled connection; otherwise, and in a transaction,
 * on the pooled (or the transaction's) connection and its cached prepared statement. On PostgreSQL
 * it is a `knex.raw`.
 */
export async function selectRows<T>(db: Executor, sql: string, bindings: readonly SqlValue[], options: { offThread?: boolean } = {}): Promise<T[]> {
  if (dialectOf(db) === 'sqlite') {
    const background = db.isTransaction ? undefined : backgrounds.get(db as Db);
    // Off the request thread when asked (concurrent requests), when reads already queue there, or
    // when the pooled connection is held by a write: a lone client keeps the lower-latency path.
    if (background?.available && (options.offThread || background.busy || poolBusy(db))) {
      return (await background.all(sql, announce(db, sql, bindings))) as T[];
    }
    return onSqliteConnection(db, sql, bindings, (connection, values) => connection.prepare(sql).all(values) as T[]);
  }
  const result = (await db.raw(sql, bindings as SqlValue[])) as { rows?: T[] } | T[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}

/**
 * Inserts rows that all have the same columns. On SQLite, inside a transaction (where the rows land
 * atomically) or for a single row, it is one cached prepared INSERT run per row on the connection;
 * otherwise, and on PostgreSQL, a knex insert. The write paths of SCIM and login sync insert a
 * handful of rows per request, where building knex queries costs more than running them.
 */
export async function insertRows<R extends object>(db: Executor, table: string, typedRows: readonly R[]): Promise<void> {
  const rows = typedRows as unknown as ReadonlyArray<Record<string, SqlValue | undefined>>;
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const sameShape = rows.every((r) => Object.keys(r).length === columns.length && columns.every((c) => c in r));
  if (dialectOf(db) !== 'sqlite' || !sameShape || (rows.length > 1 && !db.isTransaction)) {
    for (let i = 0; i < rows.length; i += 100) await db(table).insert(rows.slice(i, i + 100));
    return;
  }
  const sql = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
  await onSqliteConnection(db, sql, [], (connection) => {
    const statement = connection.prepare(sql);
    for (const row of rows) statement.run(columns.map((c) => sqliteValue(row[c])));
  });
}

const sqliteValue = (v: SqlValue | undefined): string | number | null => (v === undefined ? null : typeof v === 'boolean' ? Number(v) : v);

/**
 * Runs `work` on the pooled SQLite connection (or a transaction's), announcing the statement to the
 * database's `query` listeners as knex would. Errors keep the driver's codes (`SQLITE_CONSTRAINT_*`).
 */
async function onSqliteConnection<T>(db: Executor, sql: string, bindings: readonly SqlValue[], work: (connection: SqliteConnection, values: unknown[]) => T): Promise<T> {
  const client = db.client as unknown as PooledClient;
  const connection = await client.acquireConnection();
  try {
    return work(connection, announce(db, sql, bindings));
  } finally {
    await client.releaseConnection(connection);
  }
}

/** Tells the database's `query` listeners about a statement knex does not run; returns the SQLite values. */
function announce(db: Executor, sql: string, bindings: readonly SqlValue[]): unknown[] {
  const values = bindings.map(sqliteValue);
  (db.client as unknown as { emit(event: string, obj: unknown): void }).emit('query', { sql, bindings: values, method: 'raw' });
  return values;
}

/** Booleans come back from SQLite as 0/1. */
export const toBool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't';

export const parseJson = <T>(v: unknown, fallback: T): T => {
  if (v === null || v === undefined) return fallback;
  if (typeof v !== 'string') return v as T;
  return JSON.parse(v) as T;
};

/** Escapes LIKE metacharacters in user input; use with `ESCAPE '\\'`. */
export const escapeLike = (v: string): string => v.replace(/[\\%_]/g, (m) => `\\${m}`);
