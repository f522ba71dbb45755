import type { Database, Statement } from 'better-sqlite3';
import knexFactory, { type Knex } from 'knex';
import { boundPrototype, boundTransaction, TARGET, type BoundTransaction, type TransactionTarget } from '../bound-transaction.js';
import type { SqlitePool } from './pool.js';

/** A transaction's builder: the database's query builder bound to one transaction (see inTransaction). */
export type Trx = Knex & { readonly isTransaction: true; isCompleted(): boolean };

/**
 * What a transaction's statements run on: the pooled connection while the transaction is open, and
 * nothing after it ended. knex runs a builder given `.connection(handle)` on that object's
 * `prepare`, so a statement issued after its transaction ended fails here, loudly, instead of
 * running in whatever holds the connection by then.
 */
class TransactionHandle {
  open = true;

  constructor(private readonly connection: Database) {}

  prepare(sql: string): Statement {
    if (!this.open) throw new Error(`This transaction has ended: a statement issued after it committed or rolled back was refused (${sql.slice(0, 80)}).`);
    return this.connection.prepare(sql);
  }
}

/** The open transaction a builder belongs to, if it is one of these (see selectRows, insertRows). */
export const transactionHandle = (exec: unknown): TransactionHandle | undefined => {
  const target = typeof exec === 'function' && TARGET in exec ? (exec as BoundTransaction<TransactionTarget>)[TARGET] : undefined;
  return target instanceof TransactionHandle ? target : undefined;
};

/**
 * Write transactions on a SQLite database. knex's own transactions build a whole knex instance per
 * transaction (about 0.15 ms and a good share of the garbage of a SCIM write, measured); here each
 * transaction is one small function object whose prototype, built once per database, binds every
 * builder it starts to that transaction's handle with knex's public `.connection()`.
 *
 * The prototype's base is a knex instance of the same dialect without a connection: it builds SQL
 * (raw fragments, references, functions) and refuses anything that would need a connection of its
 * own (a nested transaction, schema changes, executing a raw statement) with "Unable to acquire a
 * connection". Statements are reported to the database's `query` listeners like any other.
 */
export class SqliteTransactions {
  private readonly proto: object;

  constructor(
    private readonly pool: SqlitePool,
    root: Knex,
  ) {
    this.proto = boundPrototype(knexFactory({ client: 'better-sqlite3', useNullAsDefault: true }), root, false);
  }

  /**
   * Runs `fn` in one write transaction. `BEGIN IMMEDIATE` takes SQLite's write lock up front, waiting
   * through the connection's busy timeout while another process (the CLI) or the checkpoint worker
   * holds it, so the transaction never fails half-way when it first writes; and nothing it read can
   * change before it commits.
   */
  async run<T>(fn: (trx: Trx) => Promise<T>): Promise<T> {
    await this.pool.take();
    const connection = this.pool.connection;
    const handle = new TransactionHandle(connection);
    const trx = boundTransaction(this.proto, handle) as unknown as Trx;
    try {
      connection.prepare('BEGIN IMMEDIATE').run();
      const result = await fn(trx);
      handle.open = false;
      connection.prepare('COMMIT').run();
      return result;
    } catch (err) {
      handle.open = false;
      if (connection.inTransaction) connection.prepare('ROLLBACK').run();
      throw err;
    } finally {
      this.pool.give();
    }
  }
}
