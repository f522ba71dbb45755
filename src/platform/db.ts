import knexFactory, { type Knex } from 'knex';
import { migrationSource } from '../../migrations/index.js';
import type { Statement } from 'better-sqlite3';
import { createSqliteDb, sqliteOf } from './sqlite/database.js';
import { transactionHandle, type Trx } from './sqlite/transactions.js';
import { sendWithNext, OrgsyncPgClient, registerPgTransactions, selectTogether, statementNamer } from './pg-transactions.js';

export type Db = Knex;
/** A transaction's builder (see inTransaction in transaction.ts): on both databases, a knex whose statements run in it. */
export type { Trx };
/** Either the root database or a transaction: query functions accept both. */
export type Executor = Knex | Trx;

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
  /** SQLite file: how often its background worker checkpoints when no commit asks it to (default 1 s; tests lengthen it). */
  checkpointEveryMs?: number;
}

export function dialectOf(db: Executor): 'sqlite' | 'pg' {
  return db.client.config.client === 'pg' ? 'pg' : 'sqlite';
}

export function createDb(url: string, options: DbOptions = {}): Db {
  if (url.startsWith('sqlite:')) {
    const log = options.log;
    return createSqliteDb(url.slice('sqlite:'.length), knexLog(log), {
      // Nothing awaits a background checkpoint: its failures are logged, or written to stderr
      // when the caller gave no log (a script, a test).
      error: (message, err) => {
        const code = (err as { code?: unknown }).code;
        const line = `${message}: ${err.message}${typeof code === 'string' ? ` (${code})` : ''}`;
        if (log) log.error(line);
        else process.stderr.write(`${line}\n`);
      },
    }, options.checkpointEveryMs);
  }
  const db = knexFactory({
    log: knexLog(options.log),
    // knex's PostgreSQL client with fewer round trips per transaction (pg-transactions.ts).
    client: OrgsyncPgClient as unknown as typeof knexFactory.Client,
    connection: url,
    searchPath: options.searchPath ? [options.searchPath] : undefined,
    pool: {
      min: options.pool?.min ?? 0,
      max: options.pool?.max ?? 10,
      // Named statements (selectRows, the held writes of pg-transactions.ts) run on plans made once
      // per connection. By default PostgreSQL plans the first five runs with the values, then keeps
      // planning each run whenever its plan for any value looks costlier, as it always does with a
      // `LIMIT ?`: a SCIM page spent 0.22–0.26 ms of its 0.5–0.9 ms planning it again (measured).
      // These statements are keyed lookups and directory-scoped scans whose best plan does not depend
      // on the values (filters compare with `=`, `substr`, `strpos`: no LIKE pattern to specialise).
      // Unnamed statements (every other knex query) are planned each time regardless.
      afterCreate: useGenericPlans,
    },
    acquireConnectionTimeout: 10_000,
  });
  registerPgTransactions(db);
  return db;
}

/** What `useGenericPlans` needs of a new pg connection. */
export interface NewPgConnection {
  query(sql: string, cb: (err: (Error & { code?: string }) | null) => void): void;
}

/**
 * The pool's `afterCreate` on PostgreSQL: named statements run on generic plans (see createDb).
 * PostgreSQL before 12 has no such setting (`42704`): its connections keep the default; any other
 * failure fails the connection.
 */
export function useGenericPlans(connection: NewPgConnection, done: (err: Error | null, connection: unknown) => void): void {
  connection.query('SET plan_cache_mode = force_generic_plan', (err) => done(err?.code === '42704' ? null : err, connection));
}

/** How many reads the background connection of a SQLite file database has answered (0 if none). */
export const backgroundReads = (db: Db): number => sqliteOf(db)?.background?.served ?? 0;

function knexLog(log: DbLog | undefined) {
  const text = (m: unknown) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m));
  return {
    warn: (m: unknown) => log?.warn(text(m)),
    error: (m: unknown) => log?.error(text(m)),
    deprecate: (m: unknown) => log?.warn(text(m)),
    debug: () => {},
  };
}

export async function migrateLatest(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource });
}

export async function migrateDown(db: Db, all = false): Promise<void> {
  if (all) await db.migrate.rollback({ migrationSource }, true);
  else await db.migrate.down({ migrationSource });
}

export type SqlValue = string | number | boolean | null;

/**
 * Runs one read-only statement written in SQL that both databases accept (double-quoted identifiers,
 * `?` placeholders) and returns its rows. On SQLite it runs on a transaction's connection inside a
 * transaction; outside one, on a file database, on the background worker's connection when
 * `offThread` is asked for (several clients at once), when reads already queue there, or when a
 * write holds the connection; otherwise on the connection, with its cached prepared statement. On
 * PostgreSQL it is a `knex.raw`.
 */
export async function selectRows<T>(db: Executor, sql: string, bindings: readonly SqlValue[], options: { offThread?: boolean } = {}): Promise<T[]> {
  return select<T>(db, sql, bindings, options.offThread === true, false);
}

/**
 * `selectRows` with each row as an array of its values in column order: no object per row (for a
 * page of 100 rows that was a third of the statement's time on SQLite).
 */
export function selectArrays<T extends unknown[]>(db: Executor, sql: string, bindings: readonly SqlValue[], options: { offThread?: boolean } = {}): Promise<T[]> {
  return select<T>(db, sql, bindings, options.offThread === true, true);
}

const FIELD_SEPARATOR = '\u001f';
const ROW_SEPARATOR = '\u001e';

/**
 * SQLite only: the rows of a read as arrays of text, which SQLite writes as one text value (fields
 * joined by U+001F, rows by U+001E) and this splits. better-sqlite3 makes every value of every row
 * through V8's API: for a page of 100 users, 800 calls and most of the read's time. One text is one
 * call, and crosses to the background worker (`offThread`) as one copy, where rows of values cost
 * more to copy between threads than to read on the request thread.
 *
 * `fields` are SQL expressions, `rest` is the statement after its select list (`FROM … LIMIT ?`);
 * `bindings` in the order of the text. Fields are written as SQLite's text of them (numbers as
 * digits, booleans as 0/1). Returns undefined when the text cannot be split back exactly (a NULL
 * field drops its row; a separator inside a value, which JSON text, ids, times and numbers never
 * hold, adds a field or a row): the caller then reads the rows as usual. The rows come in the order
 * SQLite's aggregate met them, which for a subquery with ORDER BY is that order, though SQLite does
 * not promise it: a caller that needs an order checks it.
 */
export async function selectTextRows(db: Executor, fields: readonly string[], rest: string, bindings: readonly SqlValue[], options: { offThread?: boolean } = {}): Promise<string[][] | undefined> {
  if (dialectOf(db) !== 'sqlite' || fields.length === 0) return undefined;
  const row = fields.map((f) => `(${f})`).join(` || char(${FIELD_SEPARATOR.charCodeAt(0)}) || `);
  const sql = `SELECT group_concat("r", char(${ROW_SEPARATOR.charCodeAt(0)})) AS "rows", count(*) AS "n" FROM (SELECT ${row} AS "r" ${rest})`;
  const [answer] = await select<[unknown, unknown]>(db, sql, bindings, options.offThread === true, true);
  const [text, n] = answer ?? [null, 0];
  if (n === 0) return [];
  if (typeof text !== 'string') return undefined;
  const rows = text.split(ROW_SEPARATOR).map((r) => r.split(FIELD_SEPARATOR));
  if (rows.length !== n || rows.some((r) => r.length !== fields.length)) return undefined;
  return rows;
}

/** A cached statement's mode is set for this call and put back: other callers share the statement. */
function allRows(statement: Statement, values: unknown[], arrays: boolean): unknown[] {
  if (!arrays) return statement.all(values);
  statement.raw(true);
  try {
    return statement.all(values);
  } finally {
    statement.raw(false);
  }
}

async function select<T>(db: Executor, sql: string, bindings: readonly SqlValue[], offThread: boolean, arrays: boolean): Promise<T[]> {
  if (dialectOf(db) === 'sqlite') {
    const handle = transactionHandle(db);
    if (handle) return allRows(handle.prepare(sql), announce(db, sql, bindings), arrays) as T[];
    const sqlite = sqliteOf(db);
    if (sqlite) {
      const { background, pool } = sqlite;
      // Off the request thread when asked (concurrent requests), when reads already queue there, or
      // when the connection is held by a write: a lone client keeps the lower-latency path.
      if (background?.available && (offThread || background.busy || !pool.free)) {
        return (await background.all(sql, announce(db, sql, bindings), arrays)) as T[];
      }
      return pool.run((connection) => allRows(connection.prepare(sql), announce(db, sql, bindings), arrays) as T[]);
    }
  }
  const raw = db.raw(sql, bindings as SqlValue[]);
  const name = preparedName(sql);
  const query = arrays ? raw.options(name ? { name, rowMode: 'array' } : { rowMode: 'array' }) : name ? raw.options({ name }) : raw;
  const result = (await query) as { rows?: T[] } | T[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}

/**
 * Several `selectRows` statements, in order, each with its own snapshot; returns each one's rows. In a
 * PostgreSQL transaction they go to the database in one round trip (with the transaction's BEGIN in
 * front when it is the first): a read placed after `LOCK_KEYS_SQL` sees what the lock's previous
 * holder committed. Elsewhere they run one by one.
 */
export async function selectRowsTogether(db: Executor, statements: ReadonlyArray<{ sql: string; bindings: readonly unknown[] }>): Promise<unknown[][]> {
  if (dialectOf(db) === 'pg') {
    const together = await selectTogether(db as Knex, statements);
    if (together) return together;
  }
  const out: unknown[][] = [];
  for (const s of statements) out.push(await selectRows(db, s.sql, s.bindings as SqlValue[]));
  return out;
}

/**
 * PostgreSQL plans an unnamed statement every time it runs; for the SCIM page (a subquery per row)
 * planning took several times longer than executing. A named statement is parsed once per connection
 * and its plan reused. The statements named are the first 300 distinct SQL texts this
 * process runs through `selectRows` (see statementNamer): a client sending ever new filter shapes
 * cannot grow every connection's statement cache without bound.
 */
const preparedName = statementNamer('orgsync_');

/**
 * Inserts rows that all have the same columns. On SQLite, inside a transaction (where the rows land
 * atomically) or for a single row, it is one cached prepared INSERT run per row on the connection;
 * otherwise, and on PostgreSQL, a knex insert. The write paths of SCIM and login sync insert a
 * handful of rows per request, where building knex queries costs more than running them. On
 * PostgreSQL a few rows go in as one named INSERT (parsed once per connection), more as knex inserts.
 */
export async function insertRows<R extends object>(db: Executor, table: string, typedRows: readonly R[]): Promise<void> {
  const rows = typedRows as unknown as ReadonlyArray<Record<string, SqlValue | undefined>>;
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const sameShape = rows.every((r) => Object.keys(r).length === columns.length && columns.every((c) => c in r));
  if (sameShape && dialectOf(db) === 'pg' && namedInsertable(rows, columns)) {
    const [sql, bindings] = valuesInsert(table, columns, rows);
    await runNamed(db, sql, bindings);
    return;
  }
  const handle = transactionHandle(db);
  const sqlite = handle ? undefined : sqliteOf(db);
  if (!sameShape || !(handle || (sqlite && rows.length === 1))) {
    for (let i = 0; i < rows.length; i += 100) await db(table).insert(rows.slice(i, i + 100));
    return;
  }
  const sql = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
  const insert = (connection: { prepare(sql: string): Statement }) => {
    const statement = connection.prepare(sql);
    announce(db, sql, []);
    for (const row of rows) statement.run(columns.map((c) => sqliteValue(row[c])));
  };
  if (handle) insert(handle);
  else await sqlite!.pool.run(insert);
}

/** Rows of one table for `insertBatch`. */
export interface InsertBatch {
  table: string;
  rows: readonly object[];
}

/**
 * Inserts rows into several tables, in the order given (parents before the rows that refer to them).
 * On PostgreSQL a few rows per table (every row of a table with the same columns, none undefined) go
 * in as ONE named statement — each table's INSERT a data-modifying CTE of it — so a write that adds
 * an account, its SCIM user, emails, audit entry and event costs one round trip instead of five.
 * Foreign keys are checked at the end of that statement, when every row is in. Otherwise, and on
 * SQLite (in process, no round trips), each table goes through `insertRows`.
 *
 * `atCommit`: nothing in the transaction reads these rows back and the caller does not handle their
 * errors itself — the statement may then be held and sent with the transaction's next statement or
 * its COMMIT (PostgreSQL, see pg-transactions.ts), where a failure fails the transaction.
 */
export async function insertBatch(db: Executor, batches: readonly InsertBatch[], options: { atCommit?: boolean } = {}): Promise<void> {
  const parts = batches.filter((b) => b.rows.length > 0);
  if (parts.length === 0) return;
  const shaped = parts.map((b) => {
    const rows = b.rows as ReadonlyArray<Record<string, SqlValue | undefined>>;
    const columns = Object.keys(rows[0]!);
    const ok = rows.every((r) => Object.keys(r).length === columns.length && columns.every((c) => c in r)) && namedInsertable(rows, columns);
    return { table: b.table, rows, columns, ok };
  });
  if ((parts.length === 1 && !options.atCommit) || dialectOf(db) !== 'pg' || !shaped.every((s) => s.ok)) {
    for (const b of parts) await insertRows(db, b.table, b.rows);
    return;
  }
  const statements = shaped.map((s) => valuesInsert(s.table, s.columns, s.rows));
  const last = statements.length - 1;
  const sql = last === 0 ? statements[0]![0] : `WITH ${statements.slice(0, last).map(([text], i) => `"i${i}" AS (${text})`).join(', ')} ${statements[last]![0]}`;
  const bindings = statements.flatMap(([, b]) => b);
  if (options.atCommit && (await sendWithNext(db as Knex, [{ sql, bindings }]))) return;
  await runNamed(db, sql, bindings);
}

/** PostgreSQL: few enough rows for one named INSERT, and no undefined value (knex's "column default"). */
const namedInsertable = (rows: ReadonlyArray<Record<string, SqlValue | undefined>>, columns: string[]): boolean =>
  rows.length <= 20 && rows.every((r) => columns.every((c) => r[c] !== undefined));

function valuesInsert(table: string, columns: string[], rows: ReadonlyArray<Record<string, SqlValue | undefined>>): [string, SqlValue[]] {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const sql = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${rows.map(() => tuple).join(', ')}`;
  return [sql, rows.flatMap((r) => columns.map((c) => r[c] as SqlValue))];
}

/** A statement run as a named prepared statement (see preparedName) on PostgreSQL: parsed once per connection. */
async function runNamed(db: Executor, sql: string, bindings: SqlValue[]): Promise<void> {
  const raw = db.raw(sql, bindings);
  const name = preparedName(sql);
  await (name ? raw.options({ name }) : raw);
}

const sqliteValue = (v: SqlValue | undefined): string | number | null => (v === undefined ? null : typeof v === 'boolean' ? Number(v) : v);

/** Tells the database's `query` listeners about a statement knex does not run; returns the SQLite values. */
function announce(db: Executor, sql: string, bindings: readonly SqlValue[]): Array<string | number | null> {
  const values = bindings.map(sqliteValue);
  db.emit('query', { sql, bindings: values, method: 'raw' });
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
