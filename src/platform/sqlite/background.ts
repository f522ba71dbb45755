import { Worker } from 'node:worker_threads';
import { BUSY_TIMEOUT_MS } from './connection.js';
import type { FromWorker, SqlBinding, ToWorker, WireError, WorkerSettings } from './background-protocol.js';

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
 * arriving meanwhile waits for it, a few milliseconds: write transactions begin IMMEDIATE and wait
 * through the busy timeout); otherwise it tries again at the next poll. Writes back to back without
 * a gap (a bulk load) leave it no chance: then SQLite's own threshold, raised to 20,000 pages, has
 * the commit that crossed it copy what the worker has not, and the next write starts the WAL over.
 *
 * The same worker answers the read-only statements of `selectRows` (SCIM lists and filters) on its
 * connection: they run on the other core instead of between the HTTP work of the main thread, and
 * see every committed write, as any new SQLite read transaction does.
 */
const SETTINGS: Omit<WorkerSettings, 'filename'> = { busyTimeoutMs: BUSY_TIMEOUT_MS, pollMs: 25, everyMs: 1000, restartPages: 10_000 };

interface Pending {
  resolve: (rows: unknown[]) => void;
  reject: (err: Error) => void;
}

const toError = (e: WireError): Error => Object.assign(new Error(e.message), e.code ? { code: e.code } : {});

/** The main thread's side of the background worker of one SQLite file. */
export class SqliteBackground {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Reads answered by the worker so far. */
  served = 0;
  private alive = true;
  private stopping = false;
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  /** `checkpointEveryMs`: the worker's fallback interval (SETTINGS.everyMs); tests lengthen it to tell a checkpoint a commit started from the fallback. */
  constructor(filename: string, onError: (message: string, err: Error) => void, checkpointEveryMs = SETTINGS.everyMs) {
    this.worker = new Worker(new URL('./background-worker.js', import.meta.url), { workerData: { ...SETTINGS, everyMs: checkpointEveryMs, filename } satisfies WorkerSettings });
    // Never keeps the process alive by itself; `all` references it while a read is pending.
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => {
      if (m.kind === 'checkpoint-failed' || m.kind === 'worker-failed') {
        onError(m.kind === 'checkpoint-failed' ? 'SQLite background checkpoint failed' : 'SQLite background worker failed', toError(m.error));
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.kind === 'failed') p.reject(toError(m.error));
      else {
        this.served++;
        p.resolve(m.rows);
      }
    });
    const fail = (err: Error) => {
      this.alive = false;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    // An error the worker did not catch itself (it reports its own failures as messages above).
    this.worker.on('error', (err: unknown) => {
      const error = err instanceof Error ? err : toError({ message: String((err as { message?: unknown })?.message ?? err), code: (err as { code?: string })?.code });
      onError('SQLite background worker failed', error);
      fail(error);
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('exit', () => fail(new Error('the SQLite background worker has stopped')));
  }

  get available(): boolean {
    return this.alive;
  }

  /** Reads are waiting on the worker: requests are arriving concurrently. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** The rows of a read; `arrays`: each row as an array of its values. */
  all(sql: string, bindings: SqlBinding[], arrays = false): Promise<unknown[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // Referenced while a read is pending: a CLI awaiting one must not exit under it.
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.send(arrays ? { kind: 'read', id, sql, bindings, arrays } : { kind: 'read', id, sql, bindings });
    });
  }

  /**
   * Closes the worker's connection and waits for the thread to end, so the database file can be
   * removed once `destroy()` resolves (a worker still starting would otherwise open it after).
   */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.alive = false;
      // Referenced until it ends: a process whose last work is this wait must not exit under it.
      this.worker.ref();
      this.send({ kind: 'close' });
    }
    await this.exited;
  }

  private send(message: ToWorker): void {
    this.worker.postMessage(message);
  }
}
