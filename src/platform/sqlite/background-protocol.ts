/** Messages between the main thread and the SQLite background worker (background-worker.js). */

export interface WorkerSettings {
  filename: string;
  busyTimeoutMs: number;
  /** How often the worker looks for new commits to checkpoint. */
  pollMs: number;
  /** It checkpoints at least this often regardless (a checkpoint a long read kept from finishing). */
  everyMs: number;
  /** It starts the WAL over once the WAL holds this many pages. */
  restartPages: number;
}

export type SqlBinding = string | number | null;

/** Main thread → worker. */
export type ToWorker = { kind: 'read'; id: number; sql: string; bindings: SqlBinding[]; arrays?: boolean } | { kind: 'close' };

export interface WireError {
  message: string;
  code?: string;
}

/** Worker → main thread. */
export type FromWorker =
  | { kind: 'rows'; id: number; rows: unknown[] }
  | { kind: 'failed'; id: number; error: WireError }
  /** A checkpoint failed: nothing waits for it, so the main thread logs it. */
  | { kind: 'checkpoint-failed'; error: WireError }
  /** The worker could not start (its connection did not open); it stops. */
  | { kind: 'worker-failed'; error: WireError };
