import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createDb, selectRows, type Db } from '../../src/platform/db.js';
import { inTransaction } from '../../src/platform/transaction.js';

let dir: string;
let db: Db | undefined;
afterEach(async () => {
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A SQLite file with one `items` table; `walSize()` is the size of its `-wal` file. */
async function itemsDb(): Promise<{ d: Db; walSize: () => number }> {
  dir = mkdtempSync(join(tmpdir(), 'orgsync-wal-'));
  const file = join(dir, 'db.sqlite');
  const d = createDb(`sqlite:${file}`);
  db = d;
  await d.schema.createTable('items', (t) => {
    t.integer('id').primary();
    t.text('body');
  });
  // The worker is up (it answered a read; on a loaded machine its thread can take a second to
  // start) and past its first checkpoint: what follows measures its answer to new commits.
  await selectRows(d, 'SELECT 1 AS "up"', [], { offThread: true });
  await new Promise((r) => setTimeout(r, 150));
  return { d, walSize: () => statSync(`${file}-wal`).size };
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

it.each([
  // Well under the once-a-second fallback: the worker sees any connection's commit (data_version).
  ['in the background within a fraction of a second after knex transactions commit, so the next writer starts the WAL over', 'knex', 300],
  ['within a fraction of a second after the service layer commits, so the WAL never grows without bound', 'inTransaction', 300],
] as const)('checkpoints %s', async (_name, via, waitMs) => {
  const { d, walSize } = await itemsDb();
  await writeBatch(d, 0, via);
  const afterFirst = walSize();
  expect(afterFirst).toBeGreaterThan(100_000); // the batch went to the WAL (backstop threshold not reached)
  await new Promise((r) => setTimeout(r, waitMs));
  await writeBatch(d, 1000, via);
  expect(walSize()).toBeLessThanOrEqual(afterFirst);
  expect(await count(d)).toBe(2000);
});

it('starts the WAL over again and again under a steady stream of writes, so it stays bounded', async () => {
  const { d, walSize } = await itemsDb();
  const frame = ((await d.raw('PRAGMA page_size')) as Array<{ page_size: number }>)[0]!.page_size + 24;
  let id = 0;
  // Each transaction writes about 20 pages; returns the largest WAL seen, in pages.
  const write = async (transactions: number, pause: () => Promise<void> | undefined) => {
    let largest = 0;
    for (let t = 0; t < transactions; t++) {
      await inTransaction(d, (trx) => trx('items').insert(Array.from({ length: 20 }, () => ({ id: id++, body: 'x'.repeat(3000) }))));
      largest = Math.max(largest, walSize());
      await pause();
    }
    return largest / frame;
  };
  // Writes with gaps, like requests: the worker starts the WAL over soon after 10,000 pages.
  expect(await write(900, () => new Promise((r) => setTimeout(r, 1)))).toBeLessThan(14_000);
  // Writes back to back (54,000 pages) leave the worker no gap to take the write lock in: the
  // writer's own threshold (20,000 pages) starts it over, copying only what the worker has not. Its
  // checkpoint can find the worker's under way and try again at the next commit, so under load the
  // WAL overshoots by some thousands of pages, but it keeps starting over.
  expect(await write(2700, () => undefined)).toBeLessThan(40_000);
  expect(await count(d)).toBe(3600 * 20);
});
