import type { Database } from 'better-sqlite3';

/** Matches knex's own acquire timeout: a connection held this long means something is stuck. */
const ACQUIRE_TIMEOUT_MS = 60_000;

/**
 * The single connection of a SQLite database in this process, handed to one holder at a time in
 * arrival order. knex takes it through its `connectionPool` option for every statement it runs
 * outside our transactions; a write transaction (see SqliteTransactions) holds it from
 * `BEGIN IMMEDIATE` to `COMMIT`, so no other statement of this process can slip into it, and the
 * direct statements of `selectRows`/`insertRows` take it too. better-sqlite3 runs each statement
 * synchronously: a statement that finds the connection free runs at once without waiting its turn.
 *
 * It implements the tarn-compatible interface knex accepts for an external pool. knex never closes
 * an external pool: `close()` is called when the database is destroyed (see createDb).
 */
const destroyed = () => new Error('The database has been destroyed.');

export class SqlitePool {
  private held = false;
  private closed = false;
  private readonly waiting: Array<{ grant: () => void; refuse: (err: Error) => void }> = [];

  constructor(readonly connection: Database) {}

  /** Nobody holds the connection and nobody waits for it. */
  get free(): boolean {
    return !this.held && this.waiting.length === 0;
  }

  /** Waits for the connection; the caller must `give()` it back. */
  take(): Promise<void> {
    if (this.closed) return Promise.reject(destroyed());
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
        refuse: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(entry), 1);
        reject(new Error(`Timeout acquiring a connection: the SQLite connection stayed busy for ${ACQUIRE_TIMEOUT_MS / 1000} s.`));
      }, ACQUIRE_TIMEOUT_MS);
      this.waiting.push(entry);
    });
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next.grant();
    else this.held = false;
  }

  /** Waits for the current holder, then closes the connection; later takers are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.take();
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.refuse(destroyed());
    this.connection.close();
  }

  /** Runs one synchronous piece of work on the connection: at once when it is free, else in turn. */
  async run<T>(work: (connection: Database) => T): Promise<T> {
    if (this.free && !this.closed) return work(this.connection);
    await this.take();
    try {
      return work(this.connection);
    } finally {
      this.give();
    }
  }

  // The interface knex uses for an external pool.
  acquire(): { promise: Promise<Database> } {
    return { promise: this.take().then(() => this.connection) };
  }

  release(resource: unknown): boolean {
    if (resource !== this.connection || !this.held) return false;
    this.give();
    return true;
  }

  /** knex calls this only for pools it owns; the database's `destroy` closes the connection. */
  async destroy(): Promise<void> {}

  numUsed(): number {
    return this.held ? 1 : 0;
  }

  numFree(): number {
    return this.held ? 0 : 1;
  }

  numPendingAcquires(): number {
    return this.waiting.length;
  }
}
