import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../helpers/db.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory, overrideLifecycle } from '../helpers/scim-builders.js';
import { inTransaction } from '../../src/platform/transaction.js';
import type { Trx } from '../../src/platform/db.js';
import type { ManualClock } from '../../src/platform/clock.js';

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
    const planned: string[] = [];
    const listener = (q: { sql: string }) => {
      if (/insert into "scim_users"/i.test(q.sql)) inserts.push(q.sql);
      if (/orgsync_expect/.test(q.sql)) planned.push(q.sql);
    };
    t.container.db.on('query', listener);
    const again = await s.req('POST', '/Users', { body: { ...body, userName: 'DUP@acme.test' } });
    t.container.db.removeListener('query', listener);
    expect(again.status).toBe(409);
    expect(again.body.scimType).toBe('uniqueness');
    // On PostgreSQL the create may first be planned as a new account (the last create made one):
    // its check finds the account and fails the message before the insert runs, and the create
    // reads, then inserts. Past that plan, one attempt: the unique violation is not run again.
    expect(planned.length).toBeLessThanOrEqual(1);
    expect(inserts).toHaveLength(1 + planned.length);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('SCIM writes on PostgreSQL', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('take the directory row before the outbox lock, so a PATCH and a create of one directory never deadlock', async () => {
    t = await startTestApp();
    const s = await createScimDirectory(t, { domains: ['acme.test'] });
    const user = (await s.req('POST', '/Users', { body: { userName: 'p@acme.test' } })).body as { id: string };
    // The PATCH below is the directory's first write in a new second: it records directory activity.
    (t.clock as ManualClock).advance(2000);
    const deadlocks: string[] = [];
    t.container.db.on('query-error', (err: { code?: string }) => err.code === '40P01' && deadlocks.push(err.code));

    // What a create does: its insert locks the directory row (the resource-count trigger), then it emits.
    let locked!: () => void;
    const rowLocked = new Promise<void>((r) => (locked = r));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const create = inTransaction(t.container.db, async (trx) => {
      await trx('directories').where({ id: s.directoryId }).increment('scim_user_count', 0);
      locked();
      await held;
      await t.container.events.emit(trx, { type: 'user.updated', userId: null });
    });
    await rowLocked;
    const patch = s.req('PATCH', `/Users/${user.id}`, { body: { Operations: [{ op: 'replace', path: 'title', value: 'T' }] } });
    // Until the PATCH waits on a lock (the directory row, held by the create).
    for (let i = 0; i < 200; i++) {
      const waiting = await t.container.db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND query LIKE 'update "directories" set "last_activity_at"%'`);
      if ((waiting as { rows: Array<{ n: number }> }).rows[0]!.n > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    release();
    await create;
    expect((await patch).status).toBe(200);
    expect(deadlocks).toEqual([]);
  });
});

describe('directory activity', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('is recorded by one write a second, also when writes run at once; a write that fails gives its second back', async () => {
    t = await startTestApp();
    const s = await createScimDirectory(t, { domains: ['acme.test'] });
    const clock = t.clock as ManualClock;
    const touches: string[] = [];
    t.container.db.on('query', (q: { sql: string }) => {
      if (/^update [`"]directories[`"] set [`"]last_activity_at[`"]/.test(q.sql)) touches.push(q.sql);
    });
    const recorded = async () => ((await t.container.db('directories').where({ id: s.directoryId }).first('last_activity_at')) as { last_activity_at: string | null }).last_activity_at;
    const create = (userName: string) => s.req('POST', '/Users', { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName } });

    // Eight creates at once in a new second: one of them updates the directory row, the others do
    // not queue behind its lock to write the same second again.
    clock.advance(2000);
    const created = await Promise.all(Array.from({ length: 8 }, (_, i) => create(`u${i}@acme.test`)));
    expect(created.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(touches).toHaveLength(1);
    expect(await recorded()).toBe(clock.now().toISOString());

    // The first write of the next second fails (a taken userName): its update rolls back with it
    // (on PostgreSQL a create planned as a new account may run twice first, each run updating),
    // and the next write, in the same second, records the activity.
    clock.advance(2000);
    expect((await create('u0@acme.test')).status).toBe(409);
    expect(touches.length).toBeGreaterThan(1);
    expect(await recorded()).not.toBe(clock.now().toISOString());
    const before = touches.length;
    expect((await create('u9@acme.test')).status).toBe(201);
    expect(touches).toHaveLength(before + 1);
    expect(await recorded()).toBe(clock.now().toISOString());
  });
  it('is recorded for a second whose recording write failed when another write of that second committed, before or after the failure', async () => {
    t = await startTestApp();
    const s = await createScimDirectory(t, { domains: ['acme.test'] });
    const clock = t.clock as ManualClock;
    const recorded = async () => ((await t.container.db('directories').where({ id: s.directoryId }).first('last_activity_at')) as { last_activity_at: string | null }).last_activity_at;
    const create = (userName: string) => s.req('POST', '/Users', { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName } });
    expect((await create('first@acme.test')).status).toBe(201);
    // The next second's first write (the one recording it) fails after a while; a second write of
    // that second, which skipped recording it, commits meanwhile (PostgreSQL) or right after
    // (SQLite: it waits for the write lock). No write comes after them.
    let calls = 0;
    overrideLifecycle(t, {
      userProvisioned: async () => {
        if (++calls > 1) return;
        await new Promise((r) => setTimeout(r, 150));
        throw new Error('the recording write fails');
      },
    });
    clock.advance(2000);
    const failing = create('fails@acme.test');
    await new Promise((r) => setTimeout(r, 30));
    const [failed, committed] = await Promise.all([failing, create('commits@acme.test')]);
    expect(failed.status).toBe(500);
    expect(committed.status).toBe(201);
    expect(await recorded()).toBe(clock.now().toISOString());
  });
  it("is claimed per directory: another tenant's IdP writing in the same second does not keep ours from being recorded", async () => {
    t = await startTestApp();
    const ours = await createScimDirectory(t, { domains: ['acme.test'] });
    const theirs = await createScimDirectory(t, { domains: ['other.test'], name: 'other' });
    const clock = t.clock as ManualClock;
    const recorded = async (id: string) => ((await t.container.db('directories').where({ id }).first('last_activity_at')) as { last_activity_at: string | null }).last_activity_at;
    const create = (s: typeof ours, userName: string) => s.req('POST', '/Users', { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName } });

    clock.advance(2000);
    // Their writes first and at once with ours, in the same second; one of theirs fails.
    const results = await Promise.all([
      create(theirs, 'x1@other.test'),
      create(theirs, 'x1@other.test'),
      create(ours, 'a1@acme.test'),
      create(theirs, 'x2@other.test'),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 409]);
    expect(await recorded(ours.directoryId)).toBe(clock.now().toISOString());
    expect(await recorded(theirs.directoryId)).toBe(clock.now().toISOString());
  });
});
