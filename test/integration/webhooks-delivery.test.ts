import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startReceiver, type Receiver, type Received } from '../helpers/receiver.js';
import { ManualClock } from '../../src/platform/clock.js';
import { WebhookWorker } from '../../src/modules/webhooks/worker.js';
import { verifyOrgsyncSignature } from '../../src/modules/webhooks/verify.js';
import type { EventInput } from '../../src/modules/events/service.js';

const U1 = '01900000-0000-7000-8000-0000000000a1';
const U2 = '01900000-0000-7000-8000-0000000000a2';
const ORG = '01900000-0000-7000-8000-0000000000f1';

/** An independent check of the signature scheme, written from the documented format only. */
function independentlyValid(r: Received, secret: string): boolean {
  const header = String(r.headers['orgsync-signature']);
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(`${m[1]}.${r.raw}`, 'utf8')).digest();
  return timingSafeEqual(mac, Buffer.from(m[2]!, 'hex'));
}

describe('webhook delivery to a real receiver', () => {
  let t: TestApp;
  let clock: ManualClock;
  let receiver: Receiver;
  let worker: WebhookWorker;
  beforeEach(async () => {
    clock = new ManualClock(new Date('2026-04-01T12:00:00.000Z'));
    t = await startTestApp({ clock, env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
    receiver = await startReceiver();
    // Retry delays take their upper bound, so advancing the clock by it makes the retry due.
    worker = new WebhookWorker(t.container, { random: () => 1 });
  });
  afterEach(async () => {
    await worker.stop();
    await receiver.close();
    await t.close();
  });

  const emit = (...events: EventInput[]) => t.container.db.transaction((trx) => t.container.events.emit(trx, ...events));
  const subscribe = async (events = ['membership.added', 'membership.flagged', 'user.deactivated'], url = `${receiver.url}/hooks/orgsync`) => {
    const r = await t.api('POST', '/api/v1/webhooks', { body: { url, events } });
    expect(r.status).toBe(201);
    return r.body as { id: string; secret: string };
  };
  const deliveries = async (id: string, qs = '') => (await t.api('GET', `/api/v1/webhooks/${id}/deliveries${qs}`)).body.deliveries;

  it('signs every request so that an independent HMAC check and the exported helper both verify it', async () => {
    const hook = await subscribe();
    await emit({ type: 'membership.added', organizationId: ORG, userId: U1, data: { role: 'member' } });
    await emit({ type: 'user.updated', userId: U1 }); // not subscribed
    await worker.tick();
    expect(receiver.received).toHaveLength(1);
    const r = receiver.received[0]!;
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/hooks/orgsync');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body).toMatchObject({ type: 'membership.added', organization_id: ORG, user_id: U1, data: { role: 'member' } });
    expect(r.headers['orgsync-event-id']).toBe(r.body.id);
    expect(r.headers['orgsync-signature']).toMatch(new RegExp(`^t=${Math.floor(clock.now().getTime() / 1000)},v1=`));
    expect(independentlyValid(r, hook.secret)).toBe(true);

    const now = Math.floor(clock.now().getTime() / 1000);
    expect(verifyOrgsyncSignature(String(r.headers['orgsync-signature']), r.raw, hook.secret, { now })).toEqual({ ok: true, timestamp: now });
    expect(verifyOrgsyncSignature(String(r.headers['orgsync-signature']), Buffer.from(r.raw), hook.secret, { now }).ok).toBe(true);
    expect(verifyOrgsyncSignature(String(r.headers['orgsync-signature']), r.raw.replace('member', 'owner'), hook.secret, { now })).toEqual({ ok: false, reason: 'signature_mismatch' });
    expect(verifyOrgsyncSignature(String(r.headers['orgsync-signature']), r.raw, 'whsec_other', { now }).ok).toBe(false);
    expect(verifyOrgsyncSignature(String(r.headers['orgsync-signature']), r.raw, hook.secret, { now: now + 301 })).toEqual({ ok: false, reason: 'timestamp_out_of_tolerance' });
    expect(verifyOrgsyncSignature(String(r.headers['orgsync-signature']), r.raw, hook.secret, { now: now + 301, toleranceSeconds: 600 }).ok).toBe(true);
    expect(verifyOrgsyncSignature('garbage', r.raw, hook.secret, { now })).toEqual({ ok: false, reason: 'malformed_header' });
    expect(verifyOrgsyncSignature(undefined, r.raw, hook.secret, { now })).toEqual({ ok: false, reason: 'missing_header' });
    // A signature the helper accepts is one the independent check accepts too (and the other way round).
    const forged = `t=${now},v1=${createHmac('sha256', hook.secret).update(`${now}.{"x":1}`).digest('hex')}`;
    expect(verifyOrgsyncSignature(forged, '{"x":1}', hook.secret, { now }).ok).toBe(true);

    const [d] = await deliveries(hook.id);
    expect(d).toMatchObject({ status: 'delivered', attempt_count: 1, last_status_code: 200, event_type: 'membership.added', attempts: [{ outcome: 'delivered', status_code: 200 }] });
  });

  it('keeps each user in order: a failing event blocks that user only, then retries with backoff', async () => {
    const hook = await subscribe();
    receiver.reply = (r, i) => (i === 0 ? { status: 500, body: 'boom' } : { status: 200 });
    await emit({ type: 'membership.added', organizationId: ORG, userId: U1, data: { n: 1 } });
    await emit({ type: 'membership.added', organizationId: ORG, userId: U2, data: { n: 2 } });
    await emit({ type: 'membership.flagged', organizationId: ORG, userId: U1, data: { n: 3 } });
    await emit({ type: 'user.deactivated', userId: U2, data: { n: 4 } });

    await worker.tick();
    // U1's first event failed; U2's two events went through; U1's second waits behind its first.
    expect(receiver.received.map((r) => r.body.data.n)).toEqual([1, 2, 4]);
    const failed = (await deliveries(hook.id, '?status=pending'))[1];
    expect(failed).toMatchObject({ status: 'pending', attempt_count: 1, last_status_code: 500, last_error: 'HTTP 500' });
    expect(Date.parse(failed.next_attempt_at) - clock.now().getTime()).toBe(10_000);
    const hookState = (await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body;
    expect(hookState.failing_since).toBe(clock.now().toISOString());

    // Not due yet: nothing is sent.
    clock.advance(9_000);
    await worker.tick();
    expect(receiver.received).toHaveLength(3);
    clock.advance(1_000);
    await worker.tick();
    expect(receiver.received.map((r) => r.body.data.n)).toEqual([1, 2, 4, 1, 3]);
    // The retry is the same event with the same id, freshly signed.
    expect(receiver.received[3]!.headers['orgsync-event-id']).toBe(receiver.received[0]!.headers['orgsync-event-id']);
    expect(receiver.received[3]!.headers['orgsync-delivery-attempt']).toBe('2');
    expect(independentlyValid(receiver.received[3]!, hook.secret)).toBe(true);
    const all = await deliveries(hook.id);
    expect(all.every((d: { status: string }) => d.status === 'delivered')).toBe(true);
    const retried = all.find((d: { attempt_count: number }) => d.attempt_count === 2);
    expect(retried.attempts.map((a: { outcome: string; status_code: number }) => [a.outcome, a.status_code])).toEqual([['failed', 500], ['delivered', 200]]);
    expect((await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body.failing_since).toBeNull();
  });

  it('times out a receiver that hangs after 10 seconds and delivers on the retry', async () => {
    const hook = await subscribe();
    receiver.reply = (_r, i) => (i === 0 ? 'hang' : { status: 204 });
    await emit({ type: 'user.deactivated', userId: U1 });
    const started = Date.now();
    await worker.tick();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(9_900);
    expect(took).toBeLessThan(14_000);
    const [d] = await deliveries(hook.id);
    expect(d).toMatchObject({ status: 'pending', attempt_count: 1, last_status_code: null });
    expect(d.last_error).toContain('timeout');
    clock.advance(10_000);
    await worker.tick();
    expect(receiver.received).toHaveLength(2);
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'delivered', last_status_code: 204 });
  }, 40_000);

  it('does not follow redirects: a 3xx is a failed attempt and the other host gets nothing', async () => {
    const elsewhere = await startReceiver();
    try {
      const hook = await subscribe();
      receiver.reply = () => ({ status: 307, headers: { location: `${elsewhere.url}/steal` } });
      await emit({ type: 'user.deactivated', userId: U1 });
      await worker.tick();
      clock.advance(10_000);
      await worker.tick();
      expect(receiver.received).toHaveLength(2);
      expect(elsewhere.received).toHaveLength(0);
      const [d] = await deliveries(hook.id);
      expect(d).toMatchObject({ status: 'pending', last_status_code: 307 });
      expect(d.last_error).toContain('redirect not followed');
    } finally {
      await elsewhere.close();
    }
  });

  it('gives up after 24 hours of failures, disables the endpoint, and redelivers on request', async () => {
    const hook = await subscribe();
    receiver.reply = () => ({ status: 503 });
    await emit({ type: 'user.deactivated', userId: U1 });
    await worker.tick();
    let ticks = 0;
    while ((await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body.enabled) {
      clock.advance(3_600_000);
      await worker.tick();
      if (++ticks > 40) throw new Error('never disabled');
    }
    const state = (await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body;
    expect(state).toMatchObject({ enabled: false, disabled_reason: 'delivery_failing' });
    expect(receiver.received.length).toBeGreaterThan(20);
    const [d] = await deliveries(hook.id);
    expect(d.status).toBe('failed');
    expect(Date.parse(d.last_attempt_at) - Date.parse(d.first_attempt_at)).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect((await t.api('GET', '/api/v1/audit-logs?action=webhook.disabled')).body.audit_logs).toHaveLength(1);

    // Events written while it is disabled are kept for it.
    await emit({ type: 'membership.flagged', organizationId: ORG, userId: U2 });
    const sent = receiver.received.length;
    await worker.tick();
    expect(receiver.received).toHaveLength(sent);

    receiver.reply = () => ({ status: 200 });
    const redeliverDisabled = await t.api('POST', `/api/v1/webhooks/${hook.id}/deliveries/${d.id}/redeliver`);
    expect(redeliverDisabled.status).toBe(409);
    expect(redeliverDisabled.body.errorCode).toBe('webhook_disabled');
    expect((await t.api('PATCH', `/api/v1/webhooks/${hook.id}`, { body: { enabled: true } })).status).toBe(200);
    const again = await t.api('POST', `/api/v1/webhooks/${hook.id}/deliveries/${d.id}/redeliver`);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: d.id, status: 'pending' });
    await worker.tick();
    expect(receiver.received.slice(sent).map((r) => r.body.type)).toEqual(['user.deactivated', 'membership.flagged']);
    const one = (await t.api('GET', `/api/v1/webhooks/${hook.id}/deliveries/${d.id}`)).body;
    expect(one).toMatchObject({ status: 'delivered', payload: { type: 'user.deactivated', user_id: U1 } });
    expect(one.attempts.at(-1)).toMatchObject({ outcome: 'delivered', status_code: 200 });
    expect((await t.api('POST', `/api/v1/webhooks/${hook.id}/deliveries/nope/redeliver`)).status).toBe(404);
  });

  it('re-checks the target at delivery time, so a host that now resolves to loopback gets nothing', async () => {
    await t.close();
    t = await startTestApp({ clock });
    worker = new WebhookWorker(t.container, { random: () => 1 });
    const hook = await t.api('POST', '/api/v1/webhooks', { body: { url: 'https://93.184.215.14/hook', events: ['user.deactivated'] } });
    // As if DNS for the host now answered with internal addresses (rebinding).
    const port = new URL(receiver.url).port;
    await t.container.db('webhooks').where({ id: hook.body.id }).update({ url: `http://localhost:${port}/hook` });
    await emit({ type: 'user.deactivated', userId: U1 });
    await worker.tick();
    await t.container.db('webhooks').where({ id: hook.body.id }).update({ url: `http://127.0.0.1:${port}/hook` });
    clock.advance(10_000);
    await worker.tick();
    expect(receiver.received).toHaveLength(0);
    const d = (await deliveries(hook.body.id))[0];
    expect(d.attempts.map((a: { error: string }) => a.error)).toEqual([expect.stringContaining('non-public'), expect.stringContaining('not a public address')]);
  });

  it('lets several workers share the queue without sending one delivery twice at once', async () => {
    const hook = await subscribe(['membership.added']);
    const users = Array.from({ length: 6 }, (_, i) => `01900000-0000-7000-8000-0000000001${String(i).padStart(2, '0')}`);
    for (let n = 0; n < 10; n++) await emit(...users.map((u) => ({ type: 'membership.added' as const, organizationId: ORG, userId: u, data: { n } })));
    receiver.reply = () => ({ status: 200 });
    const workers = [worker, new WebhookWorker(t.container, { batchSize: 4 }), new WebhookWorker(t.container, { batchSize: 2 })];
    try {
      await Promise.all(workers.map((w) => w.tick()));
      while (receiver.received.length < 60) await Promise.all(workers.map((w) => w.tick()));
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    const ids = receiver.received.map((r) => r.body.id);
    expect(new Set(ids).size).toBe(60);
    expect(ids).toHaveLength(60);
    for (const u of users) {
      expect(receiver.received.filter((r) => r.body.user_id === u).map((r) => r.body.data.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    expect((await deliveries(hook.id, '?take=100')).every((d: { attempt_count: number }) => d.attempt_count === 1)).toBe(true);
  });
});
