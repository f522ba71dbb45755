import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createDb, selectRows, type Db } from '../../src/platform/db.js';
import { inTransaction } from '../../src/platform/transaction.js';
import { TEST_DATABASE_URL } from '../helpers/db.js';

// SQLite's WAL, whatever the pass: the SQLite pass runs it, the PostgreSQL pass need not run it again.
const pgPass = Boolean(TEST_DATABASE_URL);
if (pgPass) console.warn('sqlite-checkpoint.test.ts: skipped in the PostgreSQL pass (it measures the SQLite WAL, which the SQLite pass covers)');

let dir: string;
let db: Db | undefined;
afterEach(async () => {
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** The first `length` bytes of a file. */
function head(file: string, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, 0);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * A SQLite file with one `items` table, read from outside without touching it (SQLite's file
 * format): `walSize()` is the size of its `-wal` file; `restarts()` the WAL header's checkpoint
 * sequence number, which grows by one each time the WAL starts over; `backfilled()` whether every
 * frame of the WAL has been copied into the database (the WAL index in `-shm`: `mxFrame`, then
 * `nBackfill`, in native byte order). The worker's fallback checkpoint is a minute away, so any
 * checkpoint seen here followed a commit.
 */
async function itemsDb(): Promise<{ d: Db; walSize: () => number; restarts: () => number; backfilled: () => boolean }> {
  dir = mkdtempSync(join(tmpdir(), 'orgsync-wal-'));
  const file = join(dir, 'db.sqlite');
  const d = createDb(`sqlite:${file}`, { checkpointEveryMs: 60_000 });
  db = d;
  await d.schema.createTable('items', (t) => {
    t.integer('id').primary();
    t.text('body');
  });
  // The worker is up (it answered a read; on a loaded machine its thread can take a second to
  // start) and past its first checkpoint: what follows measures its answer to new commits.
  await selectRows(d, 'SELECT 1 AS "up"', [], { offThread: true });
  await new Promise((r) => setTimeout(r, 150));
  const index = () => head(`${file}-shm`, 100);
  return {
    d,
    walSize: () => statSync(`${file}-wal`).size,
    restarts: () => head(`${file}-wal`, 16).readUInt32BE(12),
    backfilled: () => {
      const i = index();
      const read = (at: number) => (endianness() === 'LE' ? i.readUInt32LE(at) : i.readUInt32BE(at));
      return read(16) > 0 && read(96) === read(16);
    },
  };
}

/** Resolves once `done()` holds, checking every 10 ms; fails after `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<number> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

/** 20 transactions of 50 rows, through knex's own transactions or the service layer's. */
const writeBatch = async (d: Db, from: number, via: 'knex' | 'inTransaction') => {
  for (let t = 0; t < 20; t++) {
    const rows = Array.from({ length: 50 }, (_, i) => ({ id: from + t * 50 + i, body: 'x'.repeat(400) }));
    if (via === 'knex') await d.transaction((trx) => trx('items').insert(rows));
    else await inTransaction(d, (trx) => trx('items').insert(rows));
  }
};

const count = async (d: Db) => (await d('items').count<Array<{ n: number | string }>>({ n: '*' }))[0]!.n;

it.skipIf(pgPass).each([
  ['knex transactions commit, so a writer soon starts the WAL over', 'knex'],
  ['the service layer commits, so the WAL never grows without bound', 'inTransaction'],
] as const)('checkpoints in the background after %s', async (_name, via) => {
  const { d, walSize, restarts, backfilled } = await itemsDb();
  await writeBatch(d, 0, via);
  const afterFirst = walSize();
  expect(afterFirst).toBeGreaterThan(100_000); // the batch went to the WAL (backstop threshold not reached)
  const seq = restarts();
  // Within one poll (25 ms) on an idle machine; the deadline is for a loaded one, and still far
  // below the fallback: the worker saw the commit (data_version), whichever connection made it.
  await until(backfilled, 15_000, 'the worker copied the WAL into the database');
  // Usually the first write starts the WAL over; one that begins while the worker holds a read mark
  // (its next poll) appends instead, and a later one starts it over.
  await writeBatch(d, 1000, via);
  expect(restarts()).toBeGreaterThanOrEqual(seq + 1);
  expect(walSize()).toBeLessThanOrEqual(2 * afterFirst);
  expect(await count(d)).toBe(2000);
});

it.skipIf(pgPass)('starts the WAL over again and again under a steady stream of writes, so it stays bounded', async () => {
  const { d, walSize, restarts } = await itemsDb();
  const frame = ((await d.raw('PRAGMA page_size')) as Array<{ page_size: number }>)[0]!.page_size + 24;
  let id = 0;
  // Each transaction writes about 20 pages; returns the largest WAL seen, in pages, and how many times it started over.
  const write = async (transactions: number, pause: () => Promise<void> | undefined) => {
    let largest = 0;
    const seq = restarts();
    for (let t = 0; t < transactions; t++) {
      await inTransaction(d, (trx) => trx('items').insert(Array.from({ length: 20 }, () => ({ id: id++, body: 'x'.repeat(3000) }))));
      largest = Math.max(largest, walSize());
      await pause();
    }
    return { pages: largest / frame, restarts: restarts() - seq };
  };
  // Writes with gaps, like requests (18,000 pages, fewer than the writer's own threshold of 20,000):
  // the worker starts the WAL over soon after 10,000 pages.
  const gaps = await write(900, () => new Promise((r) => setTimeout(r, 1)));
  expect(gaps.restarts).toBeGreaterThanOrEqual(1);
  expect(gaps.pages).toBeLessThan(14_000);
  // Writes back to back (54,000 pages) leave the worker no gap to take the write lock in: the
  // writer's own threshold (20,000 pages) starts it over, copying only what the worker has not. Its
  // checkpoint can find the worker's under way and try again at the next commit, so the WAL
  // overshoots by some thousands of pages, but it keeps starting over.
  const stream = await write(2700, () => undefined);
  expect(stream.restarts).toBeGreaterThanOrEqual(2);
  expect(stream.pages).toBeLessThan(40_000);
  expect(await count(d)).toBe(3600 * 20);
});
