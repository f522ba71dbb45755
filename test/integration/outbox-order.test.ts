/**
 * The outbox on PostgreSQL, where event-writing transactions run at once and may commit in another
 * order than they wrote: no reader (the event feed over HTTP, webhook fan-out) skips an event or
 * sees one twice, and no writer waits for another writer's commit. SQLite has one writer, so two
 * transactions cannot overlap there; this file needs TEST_DATABASE_URL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { TEST_DATABASE_URL } from '../helpers/db.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { inTransaction } from '../../src/platform/transaction.js';
import { EVENT_TYPES } from '../../src/modules/events/service.js';
import { WebhookWorker } from '../../src/modules/webhooks/worker.js';
import { sequenceEvents } from '../../src/modules/events/sequencer.js';

if (!TEST_DATABASE_URL) console.warn('outbox-order.test.ts: skipped, it needs PostgreSQL (set TEST_DATABASE_URL); SQLite transactions never overlap');

interface FeedEvent {
  cursor: string;
  id: string;
  user_id: string | null;
}

describe.skipIf(!TEST_DATABASE_URL)('outbox on PostgreSQL: transactions that commit out of order', () => {
  let t: TestApp;
  let receiver: Receiver;
  beforeEach(async () => {
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    await t.close();
  });

  const feed = async (after: string): Promise<FeedEvent[]> => {
    const r = await t.api('GET', `/api/v1/events?after=${after}&take=1000`);
    expect(r.status).toBe(200);
    return r.body.events as FeedEvent[];
  };
  const userA = '00000000-0000-4000-8000-00000000000a';
  const userB = '00000000-0000-4000-8000-00000000000b';

  it('T1 emits, T2 emits and commits, a reader reads, T1 commits: the reader sees both, exactly once, in a valid order', async () => {
    const hook = (await t.api('POST', '/api/v1/webhooks', { body: { url: `${receiver.url}/hook`, events: [...EVENT_TYPES] } })).body;
    const worker = new WebhookWorker(t.container, { random: () => 1 });
    const events = t.container.events;

    let emitted!: () => void;
    const t1Emitted = new Promise<void>((r) => (emitted = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const t1 = inTransaction(t.container.db, async (trx) => {
      await events.emit(trx, { type: 'user.updated', userId: userA, data: { n: 1 } });
      emitted();
      await gate;
    });
    await t1Emitted;

    // T2 must not wait for T1 (the old global outbox lock made every event writer queue here).
    const t2 = inTransaction(t.container.db, (trx) => events.emit(trx, { type: 'user.updated', userId: userB, data: { n: 2 } }));
    let first: FeedEvent[];
    try {
      const t2Result = await Promise.race([t2.then(() => 'committed'), new Promise((r) => setTimeout(() => r('waiting for T1'), 3000))]);
      expect(t2Result).toBe('committed');

      // The reader and the fan-out run while T1 is still open.
      first = await feed('0');
      await worker.tick();
      const queuedFirst = await t.container.db('webhook_deliveries').where({ webhook_id: hook.id }).pluck('event_id');
      expect(first.map((e) => e.user_id)).toEqual([userB]);
      expect(queuedFirst).toEqual([first[0]!.id]);
    } finally {
      release();
      await Promise.all([t1, t2]);
    }
    const second = await feed(first.at(-1)!.cursor);
    await worker.tick();

    const all = [...first, ...second];
    expect(all.map((e) => e.user_id).sort()).toEqual([userA, userB]);
    expect(new Set(all.map((e) => e.id)).size).toBe(2);
    expect(Number(all[1]!.cursor)).toBeGreaterThan(Number(all[0]!.cursor));
    // A replay from the start gives the same log in the same order.
    expect((await feed('0')).map((e) => e.id)).toEqual(all.map((e) => e.id));
    // The endpoint got each event once, in log order.
    const queued = await t.container.db('webhook_deliveries').where({ webhook_id: hook.id }).orderBy('event_seq').select<Array<{ event_id: string }>>('event_id');
    expect(queued.map((r) => r.event_id)).toEqual(all.map((e) => e.id));
    await worker.stop();
  });

  it('readers polling during many concurrent writers collect every event exactly once, cursors strictly increasing', async () => {
    const events = t.container.events;
    const writers = 6;
    const perWriter = 25;
    let writing = true;
    const seen: FeedEvent[] = [];
    const reader = (async () => {
      let cursor = '0';
      for (;;) {
        const done = !writing;
        const page = await feed(cursor);
        seen.push(...page);
        if (page.length) cursor = page.at(-1)!.cursor;
        if (done && page.length === 0) return;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const written: string[] = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) {
          await inTransaction(t.container.db, async (trx) => {
            const userId = `00000000-0000-4000-8000-${String(w * 1000 + i).padStart(12, '0')}`;
            await events.emit(trx, { type: 'user.updated', userId });
            // Hold some transactions open so that later ones commit first.
            if ((w + i) % 3 === 0) await new Promise((r) => setTimeout(r, 5 + ((w * 7 + i) % 11)));
            written.push(userId);
          });
        }
      }),
    );
    writing = false;
    await reader;
    expect(written).toHaveLength(writers * perWriter);
    expect(seen.map((e) => e.user_id).sort()).toEqual([...written].sort());
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    const cursors = seen.map((e) => Number(e.cursor));
    expect(cursors.every((c, i) => i === 0 || c > cursors[i - 1]!)).toBe(true);
  });

  it('two sequencers at once number each row once', async () => {
    await inTransaction(t.container.db, (trx) => t.container.events.emit(trx, ...Array.from({ length: 300 }, () => ({ type: 'user.updated' as const, userId: userA }))));
    const [a, b] = await Promise.all([sequenceEvents(t.container.db, 50), sequenceEvents(t.container.db, 50)]);
    expect(a + b).toBe(300);
    const rows = await t.container.db('events').select<Array<{ seq: string | null }>>('seq');
    expect(rows.filter((r) => r.seq === null)).toHaveLength(0);
    expect(new Set(rows.map((r) => r.seq)).size).toBe(300);
  });
});
