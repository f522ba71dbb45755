import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createDb, inTransaction, type Db } from '../../src/platform/db.js';

let dir: string;
let db: Db | undefined;
afterEach(async () => {
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const writeBatch = async (d: Db, from: number) => {
  for (let t = 0; t < 20; t++) {
    await d.transaction(async (trx) => {
      await trx('items').insert(Array.from({ length: 50 }, (_, i) => ({ id: from + t * 50 + i, body: 'x'.repeat(400) })));
    });
  }
};

it('checkpoints the SQLite WAL in the background, so commits never grow it without bound', async () => {
  dir = mkdtempSync(join(tmpdir(), 'orgsync-wal-'));
  const file = join(dir, 'db.sqlite');
  db = createDb(`sqlite:${file}`);
  await db.schema.createTable('items', (t) => {
    t.integer('id').primary();
    t.text('body');
  });
  await writeBatch(db, 0);
  const afterFirst = statSync(`${file}-wal`).size;
  expect(afterFirst).toBeGreaterThan(100_000); // the batch went to the WAL (backstop threshold not reached)
  // The worker's checkpoint lets the next writer start the WAL over from its beginning.
  await new Promise((r) => setTimeout(r, 2500));
  await writeBatch(db, 1000);
  expect(statSync(`${file}-wal`).size).toBeLessThanOrEqual(afterFirst);
  expect(await db('items').count<Array<{ n: number }>>({ n: '*' })).toEqual([{ n: 2000 }]);
});

it('checkpoints within a fraction of a second after a commit, so the next writer starts the WAL over', async () => {
  dir = mkdtempSync(join(tmpdir(), 'orgsync-wal-'));
  const file = join(dir, 'db.sqlite');
  db = createDb(`sqlite:${file}`);
  await db.schema.createTable('items', (t) => {
    t.integer('id').primary();
    t.text('body');
  });
  const write = async (d: Db, from: number) => {
    for (let t = 0; t < 20; t++) {
      await inTransaction(d, (trx) => trx('items').insert(Array.from({ length: 50 }, (_, i) => ({ id: from + t * 50 + i, body: 'x'.repeat(400) }))));
    }
  };
  await write(db, 0);
  const afterFirst = statSync(`${file}-wal`).size;
  expect(afterFirst).toBeGreaterThan(100_000);
  // Well under the once-a-second fallback: the commits themselves told the worker to checkpoint.
  await new Promise((r) => setTimeout(r, 300));
  await write(db, 1000);
  expect(statSync(`${file}-wal`).size).toBeLessThanOrEqual(afterFirst);
  expect(await db('items').count<Array<{ n: number }>>({ n: '*' })).toEqual([{ n: 2000 }]);
});

it('starts the WAL over again and again under a steady stream of writes, so it stays bounded', async () => {
  dir = mkdtempSync(join(tmpdir(), 'orgsync-wal-'));
  const file = join(dir, 'db.sqlite');
  db = createDb(`sqlite:${file}`);
  await db.schema.createTable('items', (t) => {
    t.integer('id').primary();
    t.text('body');
  });
  const d = db;
  const frame = ((await d.raw('PRAGMA page_size')) as Array<{ page_size: number }>)[0]!.page_size + 24;
  let id = 0;
  // Each transaction writes about 20 pages.
  const write = (transactions: number, pause: () => Promise<void> | undefined) =>
    (async () => {
      let largest = 0;
      for (let t = 0; t < transactions; t++) {
        await inTransaction(d, (trx) => trx('items').insert(Array.from({ length: 20 }, () => ({ id: id++, body: 'x'.repeat(3000) }))));
        largest = Math.max(largest, statSync(`${file}-wal`).size);
        await pause();
      }
      return largest / frame;
    })();
  // Writes with gaps, like requests: the worker starts the WAL over soon after 10,000 pages.
  expect(await write(900, () => new Promise((r) => setTimeout(r, 1)))).toBeLessThan(14_000);
  // Writes back to back leave the worker no gap to take the write lock in: the writer's own
  // threshold (20,000 pages) starts it over, copying only what the worker has not.
  expect(await write(1800, () => undefined)).toBeLessThan(26_000);
  expect(await d('items').count<Array<{ n: number }>>({ n: '*' })).toEqual([{ n: 2700 * 20 }]);
});
