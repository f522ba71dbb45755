// @ts-check
// The SQLite background worker (started by background.ts): WAL checkpoints after commits, and the
// read-only statements the main thread hands over. Plain JavaScript, type-checked through JSDoc:
// a worker thread does not inherit the TypeScript loader the main thread runs under (tsx), and
// loading it again in the worker costs about a second of CPU per process.
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** @typedef {import('./background-protocol.js').WorkerSettings} WorkerSettings */
/** @typedef {import('./background-protocol.js').ToWorker} ToWorker */
/** @typedef {import('./background-protocol.js').FromWorker} FromWorker */
/** @typedef {import('./background-protocol.js').WireError} WireError */

const port = parentPort;
if (!port) throw new Error('background-worker.js runs as a worker thread only');
const settings = /** @type {WorkerSettings} */ (workerData);

/** @param {FromWorker} message */
const post = (message) => port.postMessage(message);

// better-sqlite3's errors lose their message when an uncaught one crosses to the main thread: send
// what matters (message and SQLite code) explicitly.
/** @param {unknown} err @returns {WireError} */
function wire(err) {
  const e = /** @type {{ message?: unknown; code?: unknown }} */ (err ?? {});
  return { message: typeof e.message === 'string' ? e.message : String(err), ...(typeof e.code === 'string' ? { code: e.code } : {}) };
}

/** @returns {import('better-sqlite3').Database | undefined} */
function open() {
  try {
    const connection = new Database(settings.filename, { fileMustExist: true });
    connection.pragma(`busy_timeout = ${settings.busyTimeoutMs}`);
    connection.pragma('query_only = ON');
    return connection;
  } catch (err) {
    post({ kind: 'worker-failed', error: wire(err) });
    return undefined;
  }
}
const opened = open();
// Without a connection there is nothing to do: the main thread was told, and the thread ends.
if (!opened) process.exit(1);
const db = /** @type {import('better-sqlite3').Database} */ (opened);

// data_version changes whenever another connection (the server's writer, the CLI) has committed:
// a checkpoint follows every commit within one poll (reading it costs a few microseconds).
const dataVersion = db.prepare('PRAGMA data_version').pluck();
/** @type {unknown} */
let seen = -1; // the first poll checkpoints whatever was committed before the worker started
let last = Date.now();

function checkpoint() {
  const now = Date.now();
  const version = dataVersion.get();
  if (version === seen && now - last < settings.everyMs) return;
  seen = version;
  last = now;
  const [passive] = /** @type {Array<{ busy: number; log: number; checkpointed: number }>} */ (db.pragma('wal_checkpoint(PASSIVE)'));
  if (passive && passive.log >= settings.restartPages) {
    // Start the WAL over: with no busy wait, this takes the write lock only if no write is under way
    // (else SQLite reports it busy and it is one more passive checkpoint; the next poll tries again),
    // copies the few pages written since the passive one, and resets the WAL.
    db.pragma('busy_timeout = 0');
    try {
      db.pragma('wal_checkpoint(RESTART)');
    } finally {
      db.pragma(`busy_timeout = ${settings.busyTimeoutMs}`);
    }
  }
}

let failing = false;
const timer = setInterval(() => {
  // After a failure, retry once per `everyMs` rather than every poll: each failure is reported.
  if (failing && Date.now() - last < settings.everyMs) return;
  try {
    checkpoint();
    failing = false;
  } catch (err) {
    failing = true;
    last = Date.now();
    post({ kind: 'checkpoint-failed', error: wire(err) });
  }
}, settings.pollMs);

/** @type {Map<string, import('better-sqlite3').Statement>} */
const statements = new Map();

/** @param {string} sql */
function readStatement(sql) {
  let statement = statements.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    if (!statement.reader) throw Object.assign(new Error('only statements that return rows run here'), { code: 'ORGSYNC_NOT_A_READ' });
    if (statements.size >= 500) statements.clear();
    statements.set(sql, statement);
  }
  return statement;
}

port.on('message', (/** @type {ToWorker} */ message) => {
  if (message.kind === 'close') {
    clearInterval(timer);
    db.close();
    port.close();
    return;
  }
  try {
    const statement = readStatement(message.sql);
    if (!message.arrays) post({ kind: 'rows', id: message.id, rows: statement.all(message.bindings) });
    else {
      // Rows as arrays of values for this read only: the statement is cached for every caller.
      statement.raw(true);
      try {
        post({ kind: 'rows', id: message.id, rows: statement.all(message.bindings) });
      } finally {
        statement.raw(false);
      }
    }
  } catch (err) {
    post({ kind: 'failed', id: message.id, error: wire(err) });
  }
});
