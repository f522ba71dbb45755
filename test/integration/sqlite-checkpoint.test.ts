import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/platform/db.js';

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
