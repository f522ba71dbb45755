import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backgroundReads, selectArrays, selectRows, selectTextRows } from '../../src/platform/db.js';
import { inTransaction } from '../../src/platform/transaction.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../helpers/db.js';

/**
 * `selectArrays` (rows as arrays of values) shares cached statements with `selectRows` (rows as
 * objects) on SQLite, on the request thread and on the background connection: one must never leave
 * a statement in the other's mode.
 */
let t: TestDatabase;
beforeEach(async () => {
  t = await createTestDatabase();
  await t.db.schema.createTable('probe', (tb) => {
    tb.integer('n');
    tb.string('s');
  });
  await t.db('probe').insert([
    { n: 1, s: 'a' },
    { n: 2, s: 'b' },
  ]);
  // The SQLite file's background worker starts with the first connection: let it load.
  if (!TEST_DATABASE_URL) await new Promise((r) => setTimeout(r, 300));
});
afterEach(async () => {
  await t.cleanup();
});

const SQL = 'SELECT "n", "s" FROM "probe" WHERE "n" >= ? ORDER BY "n"';

describe('selectArrays', () => {
  it('returns rows as arrays, and the same statement still returns objects to selectRows', async () => {
    for (const offThread of [false, true]) {
      expect(await selectArrays(t.db, SQL, [1], { offThread })).toEqual([
        [1, 'a'],
        [2, 'b'],
      ]);
      expect(await selectRows(t.db, SQL, [2], { offThread })).toEqual([{ n: 2, s: 'b' }]);
      expect(await selectArrays(t.db, SQL, [2], { offThread })).toEqual([[2, 'b']]);
      expect(await selectRows(t.db, SQL, [1], { offThread })).toEqual([
        { n: 1, s: 'a' },
        { n: 2, s: 'b' },
      ]);
    }
    // Inside a transaction (its own connection on SQLite) as well.
    await inTransaction(t.db, async (trx) => {
      expect(await selectArrays(trx, SQL, [2])).toEqual([[2, 'b']]);
      expect(await selectRows(trx, SQL, [2])).toEqual([{ n: 2, s: 'b' }]);
    });
    if (!TEST_DATABASE_URL) expect(backgroundReads(t.db)).toBeGreaterThanOrEqual(4); // the off-thread reads ran on the worker
  });

  it('leaves a failing statement in object mode too', async () => {
    await expect(selectArrays(t.db, 'SELECT "nope" FROM "probe"', [])).rejects.toThrow();
    expect(await selectRows(t.db, SQL, [2])).toEqual([{ n: 2, s: 'b' }]);
  });
});

describe('selectTextRows', () => {
  const REST = 'FROM "probe" WHERE "n" >= ? ORDER BY "n" LIMIT ?';
  it.skipIf(Boolean(TEST_DATABASE_URL))('reads the rows as one text, on either thread, and splits it back into their values as text', async () => {
    await t.db('probe').insert({ n: 3, s: 'J\u00f6rg {"x":"\\u001f"} \u{1F600}' });
    for (const offThread of [false, true]) {
      expect(await selectTextRows(t.db, ['"n"', '"s"', '"n" * 2'], REST, [1, 10], { offThread })).toEqual([
        ['1', 'a', '2'],
        ['2', 'b', '4'],
        ['3', 'J\u00f6rg {"x":"\\u001f"} \u{1F600}', '6'],
      ]);
      expect(await selectTextRows(t.db, ['"s"'], REST, [2, 1], { offThread })).toEqual([['b']]);
      expect(await selectTextRows(t.db, ['"s"'], REST, [9, 10], { offThread })).toEqual([]);
    }
    await inTransaction(t.db, async (trx) => {
      expect(await selectTextRows(trx, ['"s"'], REST, [2, 1])).toEqual([['b']]);
    });
  });

  it.skipIf(Boolean(TEST_DATABASE_URL))('gives up, rather than answer wrong, on a NULL or a value holding a separator', async () => {
    await t.db('probe').insert({ n: 3, s: null });
    // A NULL field drops its row from SQLite's text: the count tells.
    expect(await selectTextRows(t.db, ['"n"', '"s"'], REST, [1, 10])).toBeUndefined();
    expect(await selectTextRows(t.db, ['"n"', '"s"'], REST, [1, 2])).toEqual([
      ['1', 'a'],
      ['2', 'b'],
    ]);
    await t.db('probe').where({ n: 3 }).update({ s: 'x\u001fy' });
    expect(await selectTextRows(t.db, ['"n"', '"s"'], REST, [3, 1])).toBeUndefined();
    await t.db('probe').where({ n: 3 }).update({ s: 'x\u001ey' });
    expect(await selectTextRows(t.db, ['"s"'], REST, [3, 1])).toBeUndefined();
    expect(await selectTextRows(t.db, ['"s"'], REST, [1, 10])).toBeUndefined();
  });

  it.runIf(Boolean(TEST_DATABASE_URL))('is a SQLite read only: on PostgreSQL the caller reads as usual', async () => {
    expect(await selectTextRows(t.db, ['"s"'], REST, [1, 10])).toBeUndefined();
  });
});
