/**
 * Group commit on PostgreSQL (`PgTransactions.runTogether`, used by SCIM user creates): writes that
 * arrive while another is under way share one transaction. What must hold: a lone write runs at
 * once; members of a group commit together with all their rows; one member's failure (its own code,
 * or its insert failing at COMMIT) is that member's alone, and the others still commit; and a
 * directory of another customer whose creates share a group with ours can neither fail ours nor
 * see or touch our rows. This file needs TEST_DATABASE_URL (SQLite has one writer and nothing to
 * group).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../helpers/db.js';
import { startTestApp } from '../helpers/app.js';
import { createScimDirectory, type ScimClient } from '../helpers/scim-builders.js';
import { insertBatch, selectRows, type Trx } from '../../src/platform/db.js';
import { inTransaction } from '../../src/platform/transaction.js';
import { ManualClock } from '../../src/platform/clock.js';
import { AFTER_FAILED_GROUP_MS, pgTransactionsOf, TOGETHER_AT_MOST, TOGETHER_UNDER_WAY } from '../../src/platform/pg-transactions.js';

if (!TEST_DATABASE_URL) console.warn('pg-group-commit.test.ts: skipped, it needs PostgreSQL (set TEST_DATABASE_URL)');

const txid = async (trx: Trx): Promise<string> => (await selectRows<{ x: string }>(trx, 'SELECT txid_current()::text AS "x"', []))[0]!.x;

describe.skipIf(!TEST_DATABASE_URL)('PostgreSQL group commit of writes that arrive together', () => {
  // What each test opened, closed after it.
  const opened: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of opened.splice(0)) await close();
  });
  const database = async (): Promise<TestDatabase> => {
    const d = await createTestDatabase('postgres');
    opened.push(() => d.cleanup());
    return d;
  };

  /**
   * One write held open (it waits for `release`), then `fns` started in the same turn of the event
   * loop: they wait, and go together once the turn ends.
   */
  async function burst<T>(db: TestDatabase['db'], fns: Array<(trx: Trx) => Promise<T>>): Promise<{ first: string; results: Array<PromiseSettledResult<T>> }> {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    const first = inTransaction(
      db,
      async (trx) => {
        const x = await txid(trx);
        started();
        await gate;
        return x;
      },
      { together: true },
    );
    await isStarted;
    const rest = fns.map((fn) => inTransaction(db, fn, { together: true }));
    const results = await Promise.allSettled(rest);
    release();
    return { first: await first, results };
  }

  const table = async (db: TestDatabase['db']) => {
    await db.raw('CREATE TABLE "grouped" ("id" integer PRIMARY KEY, "text" text)');
  };
  const ids = async (db: TestDatabase['db']) => (await db('grouped').orderBy('id').select('id')).map((r) => r.id as number);

  it('a lone write runs at once; writes arriving while one is under way share one transaction, each seeing the ones before it, and all commit', async () => {
    const d = await database();
    await table(d.db);
    const stats = pgTransactionsOf(d.db)!.groups;
    const before = { ...stats };
    const { first, results } = await burst(
      d.db,
      Array.from({ length: 5 }, (_, i) => async (trx: Trx) => {
        await insertBatch(trx, [{ table: 'grouped', rows: [{ id: i + 1, text: `w${i}` }] }], { atCommit: true });
        const seen = await trx('grouped').count({ n: '*' });
        return { x: await txid(trx), seen: Number(seen[0]!.n) };
      }),
    );
    const values = results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason));
    // One transaction for the five, not the one held open; each saw the writes before its own.
    expect(new Set(values.map((v) => v.x)).size).toBe(1);
    expect(values[0]!.x).not.toBe(first);
    expect(values.map((v) => v.seen)).toEqual([1, 2, 3, 4, 5]);
    expect(await ids(d.db)).toEqual([1, 2, 3, 4, 5]);
    expect(stats.committed - before.committed).toBe(1);
    expect(stats.writes - before.writes).toBe(5);
  });

  it('no group carries more than TOGETHER_AT_MOST writes', async () => {
    const d = await database();
    const n = TOGETHER_AT_MOST * 2 + 1;
    const { results } = await burst(d.db, Array.from({ length: n }, () => txid));
    const groups = new Map<string, number>();
    for (const r of results) if (r.status === 'fulfilled') groups.set(r.value, (groups.get(r.value) ?? 0) + 1);
    expect([...groups.values()].reduce((a, b) => a + b, 0)).toBe(n);
    expect(Math.max(...groups.values())).toBe(TOGETHER_AT_MOST);
    expect(groups.size).toBe(3);
  });

  it("one member's error is its own: the group rolls back, the others run again alone and commit, and the failing one writes nothing", async () => {
    const d = await database();
    await table(d.db);
    await d.db('grouped').insert({ id: 100, text: 'taken' });
    const before = { ...pgTransactionsOf(d.db)!.groups };
    const { results } = await burst(d.db, [
      async (trx) => {
        await trx('grouped').insert({ id: 1, text: 'ok' });
        return txid(trx);
      },
      async (trx) => {
        // Written and sent, then the write's own code fails.
        await trx('grouped').insert({ id: 2, text: 'thrown away' });
        throw new Error('this write failed');
      },
      async (trx) => {
        // Fails only at COMMIT, where its held insert is sent with the others'.
        await insertBatch(trx, [{ table: 'grouped', rows: [{ id: 3, text: 'held' }, { id: 100, text: 'duplicate' }] }], { atCommit: true });
        return txid(trx);
      },
      async (trx) => {
        await insertBatch(trx, [{ table: 'grouped', rows: [{ id: 4, text: 'ok' }] }], { atCommit: true });
        return txid(trx);
      },
    ]);
    expect(results[0]).toMatchObject({ status: 'fulfilled' });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: 'this write failed' } });
    expect(results[2]).toMatchObject({ status: 'rejected', reason: { code: '23505', constraint: 'grouped_pkey' } });
    expect(results[3]).toMatchObject({ status: 'fulfilled' });
    // Run again alone: two transactions of their own.
    expect((results[0] as PromiseFulfilledResult<string>).value).not.toBe((results[3] as PromiseFulfilledResult<string>).value);
    expect(await ids(d.db)).toEqual([1, 4, 100]);
    expect(pgTransactionsOf(d.db)!.groups.committed).toBe(before.committed);

    // Right after a failed group, writes run alone for a while (a load of failing writes is not run twice).
    const after = await burst(d.db, [txid, txid, txid]);
    const xs = after.results.map((r) => (r as PromiseFulfilledResult<string>).value);
    expect(new Set(xs).size).toBe(3);
    // Then group again.
    await new Promise((r) => setTimeout(r, AFTER_FAILED_GROUP_MS + 50));
    const later = await burst(d.db, [txid, txid, txid]);
    expect(new Set(later.results.map((r) => (r as PromiseFulfilledResult<string>).value)).size).toBe(1);
    // Every pooled connection is clean: none was left inside the aborted transaction.
    const isolation = await Promise.all(Array.from({ length: 6 }, () => inTransaction(d.db, async (trx) => (await selectRows<{ s: string }>(trx, "SELECT current_setting('transaction_isolation') AS s", []))[0]!.s)));
    expect(isolation).toEqual(Array(6).fill('read committed'));
  });

  it("SCIM creates of two customers that arrive together: every create lands in its own directory with its audit record and event, and a 409 of customer B's fails nothing of A's", async () => {
    // A clock that stands still: the directories' activity is recorded by their first creates only (a write that runs alone).
    const t = await startTestApp({ clock: new ManualClock(), env: { RATE_LIMIT_SCIM_PER_MINUTE: '0' } });
    opened.push(() => t.close());
    const a = await createScimDirectory(t, { domains: ['a-corp.test'], name: 'customer A' });
    const b = await createScimDirectory(t, { domains: ['b-corp.test'], name: 'customer B' });
    const user = (local: string, domain: string) => ({ body: { userName: `${local}@${domain}`, externalId: `ext-${local}`, emails: [{ value: `${local}@${domain}`, primary: true }] } });
    // One create each first: it records the directory's activity.
    expect((await a.req('POST', '/Users', user('a0', 'a-corp.test'))).status).toBe(201);
    expect((await b.req('POST', '/Users', user('b0', 'b-corp.test'))).status).toBe(201);
    const pgt = pgTransactionsOf(t.container.db)!;
    const stats = pgt.groups;
    const until = async (what: () => boolean) => {
      for (let i = 0; !what(); i++) {
        if (i > 500) throw new Error(`timed out (${JSON.stringify({ queued: pgt.queued, groups: pgt.groups })})`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    /**
     * Holds every slot for writes of this kind with writes of our own, sends `creates` (they all
     * wait), then lets go: they go in groups whatever the timing of the requests.
     */
    const wave = async (creates: Array<[ScimClient, string]>) => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const holders: Array<Promise<void>> = [];
      for (let i = 0; i < TOGETHER_UNDER_WAY; i++) {
        // One at a time, each in a transaction of its own.
        let started!: () => void;
        const isStarted = new Promise<void>((r) => (started = r));
        holders.push(inTransaction(t.container.db, () => (started(), gate), { together: true }));
        await isStarted;
      }
      const sent = creates.map(([c, local]) => c.req('POST', '/Users', user(local, c === a ? 'a-corp.test' : 'b-corp.test')));
      try {
        await until(() => pgt.queued === creates.length);
      } finally {
        release();
      }
      await Promise.all(holders);
      const responses = await Promise.all(sent);
      return { statuses: responses.map((r) => r.status), responses };
    };
    const twelve = (tag: string): Array<[ScimClient, string]> => Array.from({ length: 12 }, (_, i) => [i % 2 ? b : a, `${i % 2 ? 'b' : 'a'}-${tag}-${i}`]);

    const before = { ...stats };
    const clean = await wave(twelve('w1'));
    expect(clean.statuses).toEqual(Array(12).fill(201));
    // Two groups: eight, then four.
    expect(stats.committed - before.committed).toBe(2);
    expect(stats.writes - before.writes).toBe(12);

    // Again, with customer B's IdP sending a user B already has among them (in the first group):
    // that group fails as a whole, and each of its writes runs again alone; the second group commits.
    const mid = { ...stats };
    const creates = twelve('w2');
    creates[5] = [b, 'b0'];
    const mixed = await wave(creates);
    expect(mixed.statuses).toEqual([...Array(5).fill(201), 409, ...Array(6).fill(201)]);
    expect(mixed.responses[5]!.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], scimType: 'uniqueness' });
    expect(stats.committed - mid.committed).toBe(1);
    expect(stats.writes - mid.writes).toBe(4);

    const db = t.container.db;
    for (const [c, domain, expected] of [
      [a, 'a-corp.test', 13],
      [b, 'b-corp.test', 12],
    ] as const) {
      const rows = await db('scim_users').where({ directory_id: c.directoryId }).select('id', 'user_name', 'user_id');
      expect(rows).toHaveLength(expected);
      expect(rows.every((r) => (r.user_name as string).endsWith(`@${domain}`))).toBe(true);
      // The directory's own count (count slots) and its list agree.
      const list = await c.req('GET', '/Users?count=1');
      expect(list.body.totalResults).toBe(expected);
      // Each create: one audit record by this directory, one event, one account of its own.
      const audit = await db('audit_events').where({ action: 'user.provisioned', actor_id: c.directoryId }).select('target_user_id');
      expect(audit.map((r) => r.target_user_id).sort()).toEqual(rows.map((r) => r.user_id).sort());
      const events = await db('events').where({ type: 'user.provisioned' }).whereIn('user_id', rows.map((r) => r.user_id as string)).count({ n: '*' });
      expect(Number(events[0]!.n)).toBe(expected);
      const accounts = await db('users').whereIn('id', rows.map((r) => r.user_id as string)).select('email_lower');
      expect(accounts.map((r) => r.email_lower).sort()).toEqual(rows.map((r) => (r.user_name as string).toLowerCase()).sort());
    }
    // Neither customer's token reaches the other's users.
    const aUser = (await db('scim_users').where({ directory_id: a.directoryId }).first('id'))!.id as string;
    expect((await b.req('GET', `/Users/${aUser}`)).status).toBe(404);
    expect((await b.req('DELETE', `/Users/${aUser}`)).status).toBe(404);
    expect(await db('scim_users').where({ id: aUser }).count({ n: '*' })).toEqual([{ n: '1' }]);
  });
});
