import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory } from '../helpers/scim-builders.js';
import { inTransaction } from '../../src/platform/transaction.js';
import type { Trx } from '../../src/platform/db.js';

/** The one transaction path (src/platform/transaction.ts), on the test database (SQLite file or PostgreSQL). */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function probeDb(): Promise<TestDatabase> {
  const d = await createTestDatabase();
  cleanups.push(() => d.cleanup());
  await d.db.schema.createTable('probe', (t) => t.integer('n'));
  return d;
}

const numbers = async (d: TestDatabase) => (await d.db('probe').orderBy('n').select<Array<{ n: number }>>('n')).map((r) => r.n);

describe('inTransaction', () => {
  it('refuses a statement issued after its transaction ended, also while the next transaction is open', async () => {
    const d = await probeDb();
    let leaked: Trx | undefined;
    await inTransaction(d.db, async (trx) => {
      leaked = trx;
      await trx('probe').insert({ n: 1 });
    });
    expect(leaked!.isCompleted()).toBe(true);

    // Transaction B is open (it will roll back) when the ended transaction's builder is used again.
    let inside!: () => void;
    const started = new Promise<void>((r) => (inside = r));
    let finish!: () => void;
    const held = new Promise<void>((r) => (finish = r));
    const b = inTransaction(d.db, async (trx) => {
      await trx('probe').insert({ n: 2 });
      inside();
      await held;
      throw new Error('B rolls back');
    });
    await started;
    await expect(leaked!('probe').insert({ n: 3 })).rejects.toThrow(/ended|already complete/);
    finish();
    await expect(b).rejects.toThrow('B rolls back');
    // Neither B's row nor the late one: the late statement neither ran inside B nor on its own.
    expect(await numbers(d)).toEqual([1]);
  });
});

describe('a duplicate SCIM create', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('is answered 409 after one attempt: a taken userName is not a race that running again could win', async () => {
    t = await startTestApp();
    const s = await createScimDirectory(t, { domains: ['acme.test'] });
    const body = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'dup@acme.test' };
    expect((await s.req('POST', '/Users', { body })).status).toBe(201);
    const inserts: string[] = [];
    const listener = (q: { sql: string }) => {
      if (/^insert into "scim_users"/i.test(q.sql)) inserts.push(q.sql);
    };
    t.container.db.on('query', listener);
    const again = await s.req('POST', '/Users', { body: { ...body, userName: 'DUP@acme.test' } });
    t.container.db.removeListener('query', listener);
    expect(again.status).toBe(409);
    expect(again.body.scimType).toBe('uniqueness');
    expect(inserts).toHaveLength(1);
  });
});
