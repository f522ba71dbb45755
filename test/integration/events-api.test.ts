import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ManualClock } from '../../src/platform/clock.js';
import type { EventInput } from '../../src/modules/events/service.js';
import { pruneExpired } from '../../src/modules/events/retention.js';
import { dialectOf } from '../../src/platform/db.js';

const U1 = '01900000-0000-7000-8000-000000000001';
const U2 = '01900000-0000-7000-8000-000000000002';

describe('event log API', () => {
  let t: TestApp;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = new ManualClock(new Date('2026-03-01T10:00:00.000Z'));
    t = await startTestApp({ clock });
  });
  afterEach(() => t.close());

  const emit = (...events: EventInput[]) => t.container.db.transaction((trx) => t.container.events.emit(trx, ...events));

  it('replays events in order from any cursor, with a cursor to keep following', async () => {
    const org = (await t.api('POST', '/api/v1/organizations', { body: { name: 'acme' } })).body;
    await emit({ type: 'user.provisioned', userId: U1, data: { email: 'a@acme.test' } });
    await emit(
      { type: 'membership.added', organizationId: org.id, userId: U1, data: { role: 'member' } },
      { type: 'membership.added', organizationId: org.id, userId: U2, data: { role: 'admin' } },
    );
    await emit({ type: 'membership.flagged', organizationId: org.id, userId: U1, data: { reason: 'idp_deactivated' } });

    const all = await t.api('GET', '/api/v1/events');
    expect(all.status).toBe(200);
    expect(all.body.events.map((e: { type: string }) => e.type)).toEqual(['user.provisioned', 'membership.added', 'membership.added', 'membership.flagged']);
    const cursors = all.body.events.map((e: { cursor: string }) => Number(e.cursor));
    expect([...cursors].sort((a, b) => a - b)).toEqual(cursors);
    expect(all.body.events[1]).toMatchObject({ organization_id: org.id, user_id: U1, data: { role: 'member' }, at: '2026-03-01T10:00:00.000Z' });
    expect(all.body.has_more).toBe(false);
    expect(all.body.next).toBe(all.body.events[3].cursor);

    // Page by two, then keep polling from the last cursor: nothing new until something happens.
    const p1 = await t.api('GET', '/api/v1/events?take=2');
    expect(p1.body.events).toHaveLength(2);
    expect(p1.body.has_more).toBe(true);
    const p2 = await t.api('GET', `/api/v1/events?take=2&after=${p1.body.next}`);
    expect(p2.body.events.map((e: { id: string }) => e.id)).toEqual(all.body.events.slice(2).map((e: { id: string }) => e.id));
    const idle = await t.api('GET', `/api/v1/events?after=${p2.body.next}`);
    expect(idle.body).toEqual({ events: [], next: p2.body.next, has_more: false });
    await emit({ type: 'user.deactivated', userId: U1 });
    const later = await t.api('GET', `/api/v1/events?after=${idle.body.next}`);
    expect(later.body.events.map((e: { type: string }) => e.type)).toEqual(['user.deactivated']);

    // Replaying from the same cursor gives the same events.
    const again = await t.api('GET', `/api/v1/events?take=2&after=${p1.body.next}`);
    expect(again.body.events).toEqual(p2.body.events);
  });

  it('filters by organization (id or name), type list and user', async () => {
    const a = (await t.api('POST', '/api/v1/organizations', { body: { name: 'alpha' } })).body;
    const b = (await t.api('POST', '/api/v1/organizations', { body: { name: 'beta' } })).body;
    await emit(
      { type: 'membership.added', organizationId: a.id, userId: U1 },
      { type: 'membership.added', organizationId: b.id, userId: U1 },
      { type: 'membership.removed', organizationId: a.id, userId: U2 },
      { type: 'user.updated', userId: U2 },
    );
    const byName = await t.api('GET', '/api/v1/events?organization=alpha');
    expect(byName.body.events.map((e: { type: string }) => e.type)).toEqual(['membership.added', 'membership.removed']);
    expect((await t.api('GET', `/api/v1/events?organization=${b.id}`)).body.events).toHaveLength(1);
    const types = await t.api('GET', '/api/v1/events?type=membership.removed,user.updated');
    expect(types.body.events.map((e: { type: string }) => e.type)).toEqual(['membership.removed', 'user.updated']);
    expect((await t.api('GET', `/api/v1/events?user=${U2}&type=user.updated`)).body.events).toHaveLength(1);
    // Events outlive their organization: a deleted one's id still filters.
    expect((await t.api('DELETE', `/api/v1/organizations/${b.id}`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/events?organization=${b.id}`)).body.events).toHaveLength(1);
    expect((await t.api('GET', '/api/v1/events?organization=nope')).status).toBe(404);
  });

  it('rejects bad query strings naming the field, and needs read:events', async () => {
    for (const [qs, field] of [
      ['take=1001', 'take'],
      ['take=abc', 'take'],
      ['after=-1', 'after'],
      ['type=membership.exploded', 'type'],
      ['user=not-an-id', 'user'],
    ]) {
      const r = await t.api('GET', `/api/v1/events?${qs}`);
      expect(r.status, qs).toBe(400);
      expect(r.body.errorCode).toBe('invalid_query_string');
      expect(r.body.message).toContain(field);
    }
    const noScope = await t.api('GET', '/api/v1/events', { key: await t.keyWith('read:audit_logs') });
    expect(noScope.status).toBe(403);
    expect(noScope.body.errorCode).toBe('insufficient_scope');
    expect((await t.api('GET', '/api/v1/events', { key: await t.keyWith('read:events') })).status).toBe(200);
    expect((await t.api('GET', '/api/v1/events', { key: null })).status).toBe(401);
  });

  it('writes events only when the change commits (outbox in the same transaction)', async () => {
    await expect(
      t.container.db.transaction(async (trx) => {
        await t.container.events.emit(trx, { type: 'user.deleted', userId: U1 });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect((await t.api('GET', '/api/v1/events')).body.events).toEqual([]);
  });

  it('never shows a sequence number after a higher one, whatever order transactions commit in', async () => {
    const db = t.container.db;
    const pg = dialectOf(db) === 'pg';
    const first = await db.transaction();
    await t.container.events.emit(first, { type: 'user.provisioned', userId: U1 });
    let secondDone = false;
    const second = db.transaction((trx) => t.container.events.emit(trx, { type: 'user.provisioned', userId: U2 })).then(() => (secondDone = true));
    await new Promise((r) => setTimeout(r, 200));
    // PostgreSQL: the second writer does not wait for the first and its event is readable at once.
    // SQLite: one writer at a time, so the second waits for the first.
    expect(secondDone).toBe(pg);
    // (On SQLite the open transaction holds the one connection, so the read comes after it.)
    const during = pg ? ((await t.api('GET', '/api/v1/events')).body.events as Array<{ user_id: string; cursor: string }>) : [];
    if (pg) expect(during.map((e) => e.user_id)).toEqual([U2]);
    await first.commit();
    await second;
    const rest = (await t.api('GET', `/api/v1/events?after=${during.at(-1)?.cursor ?? '0'}`)).body.events as typeof during;
    const events = [...during, ...rest];
    expect(events.map((e) => e.user_id).sort()).toEqual([U1, U2].sort());
    expect(Number(events[0]!.cursor)).toBeLessThan(Number(events[1]!.cursor));
    // A replay from the start gives the same log.
    expect((await t.api('GET', '/api/v1/events')).body.events).toEqual(events);
  });

  it('prunes events past the retention window, once per lease across instances', async () => {
    await emit({ type: 'user.provisioned', userId: U1 });
    clock.advance(20 * 86_400_000);
    await emit({ type: 'user.updated', userId: U1 });
    clock.advance(15 * 86_400_000);
    const now = clock.now();
    const first = await pruneExpired(t.container.db, { now, retentionDays: t.container.config.eventRetentionDays, owner: 'instance-a' });
    expect(first).toMatchObject({ ran: true, events: 1 });
    // A second instance in the same hour does not run it again.
    expect((await pruneExpired(t.container.db, { now, retentionDays: 30, owner: 'instance-b' })).ran).toBe(false);
    const left = (await t.api('GET', '/api/v1/events')).body.events;
    expect(left.map((e: { type: string }) => e.type)).toEqual(['user.updated']);
    clock.advance(3_600_001);
    expect((await pruneExpired(t.container.db, { now: clock.now(), retentionDays: 30, owner: 'instance-b' })).ran).toBe(true);
  });
});
