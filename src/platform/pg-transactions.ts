import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import knexFactory, { type Knex } from 'knex';
import { boundPrototype, boundTransaction, TARGET } from './bound-transaction.js';

/**
 * PostgreSQL transactions with fewer round trips. On this kind of machine a round trip to the
 * database costs about 0.2 ms, more than running a small statement; a SCIM create was five of them
 * (BEGIN, the linking reads, the inserts, COMMIT) around half a millisecond of work.
 *
 * - **BEGIN rides with the first statement.** knex's transactions send `BEGIN` on its own; here
 *   (PgTransactions) it is held back and sent in front of the transaction's first statement. A statement
 *   without bindings goes in the same message (the simple query protocol runs several statements
 *   from one message, in order); one with bindings (extended protocol) follows it as before.
 * - **Statements sent together** (`selectTogether`): reads whose values can be written into the SQL
 *   as literals go in one message, each with its own snapshot — a read after an advisory lock in the
 *   same message sees what the lock's holder committed.
 * - **Inserts that wait for COMMIT** (`sendWithNext`): rows nothing in the transaction reads back
 *   are sent with the next statement, or with `COMMIT` when none follows: one message for the rows
 *   and the commit. An insert that fails there fails the commit (the transaction rolls back and the
 *   error — a unique violation, say — is the transaction's error, as if the insert had failed).
 * - **Writes that arrive together** (`runTogether`, SCIM creates): under concurrent load, several
 *   share one transaction and one COMMIT (group commit); one that fails sends each back alone.
 *
 * Statements sent this way are prepared once per connection (`PREPARE`, a message of its own the
 * first time) and then run by `EXECUTE name(values…)`: planning one of these small statements took
 * longer than running it. Values are written as literals, as the driver's `escapeLiteral` writes
 * them (PostgreSQL's standard quoting: quotes doubled, backslashes doubled under `E''`), arrays as one
 * array literal. Anything else — a value that is not a string, finite number, boolean or null, or a
 * string with a NUL character, which no literal can carry — is not inlined: the statement runs with
 * bindings, on its own, as before.
 */

const require = createRequire(import.meta.url);
// knex's PostgreSQL dialect: extended here (knex has no hook for what a statement sends first).
const ClientPg = require('knex/lib/dialects/postgres/index.js') as new (config: Knex.Config) => KnexPgClient;

interface QueryObject {
  sql: string;
  bindings?: unknown[];
  options?: { name?: string };
  response?: unknown;
}

interface PgConnection {
  query(text: string, callback: (err: Error | null, result: PgResult | PgResult[]) => void): void;
  [PENDING]?: Pending;
  [PREPARED]?: Set<string>;
  [PLANNED]?: PlanState;
}

interface PgResult {
  command: string;
  rows: Array<Record<string, unknown>>;
}

interface KnexPgClient {
  config: Knex.Config;
  _query(connection: PgConnection, obj: QueryObject): Promise<QueryObject>;
  acquireConnection(): Promise<unknown>;
}

const PENDING = Symbol('statements waiting for the next round trip');
const PREPARED = Symbol('statements prepared on this connection');
const PLANNED = Symbol('when and after how many uses this connection drops its cached plans');

/**
 * How long a connection keeps the plans it has cached (its named statements', and those of the
 * foreign-key checks PostgreSQL runs for every insert) before it drops them with `DISCARD PLANS`
 * and plans each again at its next run. A plan is made for the table sizes of the moment, and
 * PostgreSQL makes it again only once autovacuum analyzes the table (it looks once a minute): a plan
 * made while a table was nearly empty read that table whole at every run while an initial sync grew
 * it by thousands of rows a second (2,500–4,600 rows read per SCIM create instead of about 11).
 * Planning these statements again costs a fraction of a millisecond each, every five seconds.
 */
export const REPLAN_EVERY_MS = 5_000;

/**
 * Sooner than that while a connection is young: its plans are also dropped after its first
 * REPLAN_FIRST_AFTER uses (a transaction, or a statement outside one), then after twice as many
 * again, and so on up to REPLAN_AFTER_AT_MOST uses. Tables that start empty grow with the work this
 * connection does, so plans made at 0, 32, 96, 224 … uses follow an import as it starts instead of
 * reading a growing table whole for its first five seconds (a thousand creates or more).
 */
export const REPLAN_FIRST_AFTER = 32;
const REPLAN_AFTER_AT_MOST = 4_096;

interface PlanState {
  at: number;
  uses: number;
  /** Uses after which the plans are dropped next (doubles each time it is reached). */
  after: number;
}

/** Whether this connection's cached plans are due to be dropped now (and from now on counts as done). */
function replanDue(connection: PgConnection): boolean {
  const now = Date.now();
  const state = connection[PLANNED];
  if (!state) {
    // A new connection has no plans yet.
    connection[PLANNED] = { at: now, uses: 1, after: REPLAN_FIRST_AFTER };
    return false;
  }
  state.uses++;
  const byUse = state.uses > state.after;
  if (!byUse && now - state.at < REPLAN_EVERY_MS) return false;
  if (byUse) state.after = Math.min(state.after * 2, REPLAN_AFTER_AT_MOST);
  state.at = now;
  state.uses = 1;
  return true;
}

/** What a connection in one of these transactions has yet to send: DISCARD PLANS when due, BEGIN, and inserts held for COMMIT. */
interface Pending {
  replan: boolean;
  begin: boolean;
  statements: string[];
}

const send = (connection: PgConnection, text: string): Promise<PgResult[]> =>
  new Promise((resolve, reject) =>
    connection.query(text, (err, result) => (err ? reject(err) : resolve(Array.isArray(result) ? result : [result]))),
  );

/** Ends a transaction whose COMMIT message failed before COMMIT ran (an insert sent with it failed). */
const rollBack = (connection: PgConnection): Promise<void> => send(connection, 'ROLLBACK').then(() => undefined, () => undefined);

/** Takes what the connection has yet to send; `undefined` outside these transactions. */
function takePending(connection: PgConnection): string[] | undefined {
  const p = connection[PENDING];
  if (!p) return undefined;
  const out = [...(p.replan ? ['DISCARD PLANS'] : []), ...(p.begin ? ['BEGIN'] : []), ...p.statements];
  p.replan = false;
  p.begin = false;
  p.statements = [];
  return out;
}

/**
 * knex's PostgreSQL client, sending what a transaction of PgTransactions holds (its BEGIN, inserts
 * held for COMMIT) ahead of the transaction's next statement. knex's own transactions (`db.transaction`,
 * used by tests and scripts) run as before. `config.client` stays `'pg'` for code that asks which
 * database it is on.
 */
export class OrgsyncPgClient extends ClientPg {
  constructor(config: Knex.Config) {
    super(config);
    this.config.client = 'pg';
  }

  override async _query(target: PgConnection | TransactionHandle, obj: QueryObject): Promise<QueryObject> {
    const connection = target instanceof TransactionHandle ? target.use(obj.sql) : target;
    // A statement outside these transactions (a read, a knex transaction) drops the plans when due, in a message of its own.
    if (!connection[PENDING] && replanDue(connection)) await send(connection, 'DISCARD PLANS');
    const ahead = takePending(connection);
    if (!ahead?.length) return super._query(connection, obj);
    // BEGIN and held inserts go first: in the same message for a statement without bindings.
    if ((obj.bindings?.length ?? 0) > 0 || obj.options?.name) {
      await send(connection, ahead.join('; '));
      return super._query(connection, obj);
    }
    const results = await send(connection, `${ahead.join('; ')}; ${obj.sql}`);
    const own = results.slice(ahead.length);
    obj.response = own.length === 1 ? own[0] : own;
    return obj;
  }
}

type Value = string | number | boolean | null;

/**
 * `text` as a string literal, as the driver's `escapeLiteral` writes it (quotes doubled; with a
 * backslash, ` E'…'` with backslashes doubled), without going through it character by character
 * when there is nothing to escape (a uuid, most names): that loop was about 0.7 µs per 36-character
 * id, over a millisecond for the arrays of a first login into 400 organizations.
 */
function quoteLiteral(text: string): string {
  if (!/['\\]/.test(text)) return `'${text}'`;
  const body = text.replace(/'/g, "''");
  return text.includes('\\') ? ` E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

/** `value` as a SQL literal, or undefined when it cannot be one (see the module comment). */
function literal(value: unknown): string | undefined {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'string') return value.includes('\0') ? undefined : quoteLiteral(value);
  if (Array.isArray(value)) {
    // One array literal ('{"a","b"}'), which the placeholder's cast (every array placeholder has
    // one) reads in one pass: as ARRAY['a', 'b'], PostgreSQL parsed, typed and evaluated each
    // element as an expression, about a microsecond apiece (a first login into 400 organizations
    // sends thousands).
    const text = pgArrayText(value);
    return text === undefined ? undefined : quoteLiteral(text);
  }
  return undefined;
}

/** A character an array element must escape (`"`, `\`) or cannot hold (NUL). */
const ARRAY_SPECIAL = /["\\\0]/;

/**
 * The text of a PostgreSQL array of these values (`{"a","b",NULL,1,true}`: strings double-quoted
 * with `"` and `\` escaped, NULL, finite numbers and booleans as they are), as its input function
 * reads it; undefined when one cannot be written (a nested array, a NUL character, an object).
 */
export function pgArrayText(values: readonly unknown[]): string | undefined {
  // One test per string for the usual case (ids, names: nothing to escape), then straight onto the
  // output: about a third of the time of escaping every element into a list and joining it.
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) out += ',';
    if (typeof value === 'string') {
      if (!ARRAY_SPECIAL.test(value)) out += '"' + value + '"';
      else if (value.includes('\0')) return undefined;
      else out += '"' + value.replace(/["\\]/g, '\\$&') + '"';
    } else if (value === null) out += 'NULL';
    else if (typeof value === 'boolean') out += value ? 'true' : 'false';
    else if (typeof value === 'number' && Number.isFinite(value)) out += String(value);
    else return undefined;
  }
  return out + '}';
}

/** Splits a statement at its `?` placeholders, which must all be placeholders (orgsync's own SQL, never input). */
function placeholders(sql: string, count: number): string[] {
  const parts = sql.split('?');
  if (parts.length - 1 !== count) throw new Error(`inlineSql: ${parts.length - 1} placeholders for ${count} values`);
  return parts;
}

/** `sql` with each `?` replaced by its value as a literal; undefined when a value cannot be one. */
export function inlineSql(sql: string, bindings: readonly unknown[]): string | undefined {
  const parts = placeholders(sql, bindings.length);
  let out = parts[0]!;
  for (let i = 0; i < bindings.length; i++) {
    const lit = literal(bindings[i]);
    if (lit === undefined) return undefined;
    out += lit + parts[i + 1]!;
  }
  return out;
}

/**
 * Names for statements a connection keeps prepared, one per distinct SQL text: only the first `cap`
 * texts of a process are named (a fixed set in practice, since the SQL varies with a statement's
 * shape, never with its values), so ever new shapes cannot grow every connection's statement cache
 * without bound; past the cap, statements run unprepared.
 */
export function statementNamer(prefix: string, cap = 300): (sql: string) => string | undefined {
  const names = new Map<string, string>();
  return (sql) => {
    let name = names.get(sql);
    if (name === undefined && names.size < cap) {
      name = `${prefix}${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
      names.set(sql, name);
    }
    return name;
  };
}

/** Statements prepared with SQL `PREPARE`: a namespace shared with the driver's named statements (db.ts), hence their own prefix. */
const nameOf = statementNamer('orgsync_x_');

/**
 * The text that runs `sql` with these values on this connection: `EXECUTE name(literals)`, after
 * preparing it there if it is not yet (its own message: a failed PREPARE then leaves no doubt about
 * what exists); the inlined statement when it has no name. Undefined when a value cannot be a literal.
 */
async function runnable(connection: PgConnection, sql: string, bindings: readonly unknown[]): Promise<string | undefined> {
  const parts = placeholders(sql, bindings.length);
  const args = bindings.map(literal);
  if (args.some((a) => a === undefined)) return undefined;
  const name = nameOf(sql);
  if (!name) return inlineSql(sql, bindings);
  const prepared = (connection[PREPARED] ??= new Set());
  if (!prepared.has(name)) {
    const numbered = parts.reduce((out, part, i) => (i === 0 ? part : `${out}$${i}${part}`), '');
    await send(connection, `PREPARE ${name} AS ${numbered}`);
    prepared.add(name);
  }
  return args.length ? `EXECUTE ${name}(${args.join(', ')})` : `EXECUTE ${name}`;
}

/** The connection of one of these transactions, or undefined (not a transaction, or not PostgreSQL). */
async function connectionOf(trx: Knex): Promise<PgConnection | undefined> {
  const handle = (trx as unknown as { [TARGET]?: unknown })[TARGET];
  return handle instanceof TransactionHandle ? handle.use('(statements sent together)') : undefined;
}

const announce = (trx: Knex, sql: string, bindings: readonly unknown[]) => trx.client.emit('query', { sql, bindings, method: 'raw' });

/**
 * Runs read statements in one round trip (with BEGIN and held inserts in front, if any), in order,
 * each with its own snapshot; returns each statement's rows. `undefined` when they cannot go
 * together (not one of these transactions, or a value that cannot be a literal): run them one by one.
 */
export async function selectTogether(trx: Knex, statements: ReadonlyArray<{ sql: string; bindings: readonly Value[] | readonly unknown[] }>): Promise<Array<Array<Record<string, unknown>>> | undefined> {
  const connection = await connectionOf(trx);
  if (!connection) return undefined;
  const texts: string[] = [];
  for (const s of statements) {
    const text = await runnable(connection, s.sql, s.bindings);
    if (text === undefined) return undefined;
    texts.push(text);
  }
  const ahead = takePending(connection)!;
  for (const s of statements) announce(trx, s.sql, s.bindings);
  const results = await send(connection, [...ahead, ...texts].join('; '));
  return results.slice(ahead.length).map((r) => r.rows);
}

/**
 * Holds statements whose rows nothing reads (an INSERT; the locks and expectation of a write sent
 * in one message, see scim/linking.ts) until the transaction's next statement or its COMMIT, sent
 * in order in the same message. Returns false, holding none, when they cannot be held (not one of
 * these transactions, or a value that cannot be a literal): the caller runs them now, or otherwise.
 */
export async function sendWithNext(trx: Knex, statements: ReadonlyArray<{ sql: string; bindings: readonly unknown[] }>): Promise<boolean> {
  const connection = await connectionOf(trx);
  if (!connection) return false;
  // All or none: a lock held without the check sent after it would be a different write.
  const texts: string[] = [];
  for (const s of statements) {
    const text = await runnable(connection, s.sql, s.bindings);
    if (text === undefined) return false;
    texts.push(text);
  }
  for (const s of statements) announce(trx, s.sql, s.bindings);
  connection[PENDING]!.statements.push(...texts);
  return true;
}

/**
 * What a transaction's statements run on: its pooled connection while it is open, nothing after it
 * ended — a statement issued after COMMIT or ROLLBACK fails loudly instead of running in whatever
 * transaction holds the connection by then.
 */
class TransactionHandle {
  open = true;
  constructor(readonly connection: PgConnection) {}

  use(sql: string): PgConnection {
    if (!this.open) throw new Error(`This transaction has ended: a statement issued after it committed or rolled back was refused (${sql.slice(0, 80)}).`);
    return this.connection;
  }
}

interface Pool {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

/**
 * Most writes one transaction of `runTogether` carries. The message of a group holds every
 * member's statements, and a group that fails runs each member again on its own: a few keep both
 * small.
 */
export const TOGETHER_AT_MOST = 8;

/**
 * How many transactions of runTogether run at once; writes arriving meanwhile wait for one to end
 * and go together. Paired runs at ten connections made as many creates per second with 3, 4 or no
 * limit (each a fifth less CPU per create than without groups); a limit keeps a burst from taking
 * every pooled connection.
 */
export const TOGETHER_UNDER_WAY = 4;

/**
 * After a group fails, writes run alone for this long: a load in which writes keep failing (an IdP
 * sending creates of users that exist, each a 409) would otherwise run most of them twice, once in a
 * group that fails and once alone.
 */
export const AFTER_FAILED_GROUP_MS = 1_000;

interface Member {
  fn: (trx: Knex) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * Write transactions on PostgreSQL without knex's transaction machinery, which builds a whole knex
 * instance, a transaction client and their promise chains per transaction: about 0.2–0.7 ms of
 * JavaScript per write, measured, against 0.06–0.25 ms for the round trip of `BEGIN; COMMIT` itself.
 * As for SQLite (sqlite/transactions.ts), a transaction is one small function object whose
 * prototype, built once per database, binds every builder and raw statement it starts to the
 * transaction's connection (knex runs a query on `_connection` when it has one). BEGIN waits for
 * the first statement and COMMIT carries the inserts held for it (see the module comment).
 */
export class PgTransactions {
  private readonly proto: object;
  /** Transactions of runTogether under way, and the writes waiting to go in the next group. */
  private together = 0;
  private waiting: Member[] = [];
  /** Until when writes run alone, after a group failed (see AFTER_FAILED_GROUP_MS). */
  private aloneUntil = 0;
  private flushing = false;
  /** How many groups of more than one write committed, and how many writes they carried. */
  readonly groups = { committed: 0, writes: 0 };

  /** Writes of runTogether waiting to start. */
  get queued(): number {
    return this.waiting.length;
  }

  constructor(private readonly root: Knex) {
    // A client of the same kind without a pool: it builds SQL and runs it on the bound connection.
    this.proto = boundPrototype(knexFactory({ client: OrgsyncPgClient as unknown as typeof knexFactory.Client }), root, true);
  }

  async run<T>(fn: (trx: Knex) => Promise<T>): Promise<T> {
    return (await this.runAll([fn]))[0] as T;
  }

  /**
   * Runs `fn` like `run`, or — when other writes of this kind are under way — in one transaction
   * with the others that arrive in the same turn of the event loop, or while TOGETHER_UNDER_WAY
   * transactions of this kind are under way (group commit): one round trip, one BEGIN and COMMIT
   * and one flush of the WAL for up to TOGETHER_AT_MOST writes. Under concurrent load that is about
   * a quarter less work for PostgreSQL per write, and a fifth less for the server. A lone write, or
   * the first of a burst, runs at once.
   *
   * The writes of a group run one after another in the transaction, so each sees those before it,
   * as if they had committed in that order. If any of them fails, in its own code or in the
   * statements sent with the COMMIT, the whole group rolls back and every member runs again in a
   * transaction of its own: each gets its own outcome, and one write's error never becomes
   * another's. `fn` must be safe to run more than once (as for `inTransaction`). Use it for writes
   * that take no lock another write of the group could take in the opposite order (two groups could
   * then wait on each other until PostgreSQL ends one as a deadlock, after which its members run
   * again alone).
   */
  runTogether<T>(fn: (trx: Knex) => Promise<T>): Promise<T> {
    if (Date.now() < this.aloneUntil) return this.run(fn);
    if (this.together === 0) return this.first(fn);
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => {
          this.flushing = false;
          this.startWaiting();
        });
      }
    });
  }

  /** A write with none under way: at once, on its own. */
  private async first<T>(fn: (trx: Knex) => Promise<T>): Promise<T> {
    this.together++;
    try {
      return await this.run(fn);
    } finally {
      this.together--;
      this.startWaiting();
    }
  }

  /** Starts the writes waiting, in groups, while fewer than TOGETHER_UNDER_WAY transactions are under way. */
  private startWaiting(): void {
    while (this.together < TOGETHER_UNDER_WAY && this.waiting.length) {
      const members = this.waiting.splice(0, TOGETHER_AT_MOST);
      this.together++;
      void this.runMembers(members).finally(() => {
        this.together--;
        this.startWaiting();
      });
    }
  }

  private async runMembers(members: Member[]): Promise<void> {
    if (members.length > 1) {
      const values = await this.runAll(members.map((m) => m.fn)).catch(() => undefined);
      if (values) {
        this.groups.committed++;
        this.groups.writes += members.length;
        members.forEach((m, i) => m.resolve(values[i]));
        return;
      }
      this.aloneUntil = Date.now() + AFTER_FAILED_GROUP_MS;
    }
    // Alone, or after the group failed: each in a transaction of its own.
    await Promise.all(members.map((m) => this.run(m.fn).then(m.resolve, m.reject)));
  }

  /** `fns` one after another in one transaction on one pooled connection; their values once it committed. */
  private async runAll(fns: ReadonlyArray<(trx: Knex) => Promise<unknown>>): Promise<unknown[]> {
    const pool = this.root.client as Pool;
    const connection = (await pool.acquireConnection()) as PgConnection;
    connection[PENDING] = { replan: replanDue(connection), begin: true, statements: [] };
    const handles: TransactionHandle[] = [];
    try {
      const values: unknown[] = [];
      for (const fn of fns) {
        const handle = new TransactionHandle(connection);
        handles.push(handle);
        values.push(await fn(boundTransaction(this.proto, handle)));
        handle.open = false;
      }
      await send(connection, [...takePending(connection)!, 'COMMIT'].join('; '));
      return values;
    } catch (err) {
      for (const handle of handles) handle.open = false;
      // Nothing sent yet: there is no transaction to roll back. Otherwise it is open (a statement
      // failed, or held inserts sent with COMMIT failed and left it aborted): end it.
      if (!connection[PENDING]?.begin) await rollBack(connection);
      throw err;
    } finally {
      delete connection[PENDING];
      await pool.releaseConnection(connection);
    }
  }
}

const transactions = new WeakMap<Knex, PgTransactions>();

/** The transactions of a PostgreSQL database made by createDb (undefined for any other). */
export const pgTransactionsOf = (db: Knex): PgTransactions | undefined => transactions.get(db);

export function registerPgTransactions(db: Knex): void {
  transactions.set(db, new PgTransactions(db));
}
