import { afterEach, beforeEach, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { ManualClock } from '../../src/platform/clock.js';
import { WebhookWorker } from '../../src/modules/webhooks/worker.js';

const USER = '01900000-0000-7000-8000-0000000000b1';

let t: TestApp;
let receiver: Receiver;
let worker: WebhookWorker;
let failing = true;
beforeEach(async () => {
  t = await startTestApp({ clock: new ManualClock(new Date('2026-04-01T12:00:00.000Z')), env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
  failing = true;
  receiver = await startReceiver(() => (failing ? { status: 500, body: 'receiver down' } : { status: 200 }));
  worker = new WebhookWorker(t.container, { random: () => 1 });
});
afterEach(async () => {
  await worker.stop();
  await receiver.close();
  await t.close();
});

it('shows failing webhook deliveries on the admin page and redelivers one', async () => {
  const hook = (await t.api('POST', '/api/v1/webhooks', { body: { url: `${receiver.url}/hook`, events: ['user.deactivated'] } })).body;
  await t.container.db.transaction((trx) => t.container.events.emit(trx, { type: 'user.deactivated', userId: USER }));
  await worker.tick();
  expect(receiver.received).toHaveLength(1);

  const a = new AdminClient(t.url);
  await a.signIn(t.adminKey);
  const page = await a.get('/admin/webhooks');
  expect(page.status).toBe(200);
  expect(page.text).toContain(`${receiver.url}/hook`);
  expect(page.text).toContain('Failing');
  expect(page.text).toContain('user.deactivated');
  expect(page.text).toContain('500');
  const deliveryId = (await t.api('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).body.deliveries[0].id as string;
  expect(page.text).toContain(`/admin/webhooks/${hook.id}/deliveries/${deliveryId}/redeliver`);

  // Without the CSRF token the redeliver form is refused.
  expect((await a.post(`/admin/webhooks/${hook.id}/deliveries/${deliveryId}/redeliver`, {}, { csrf: false })).status).toBe(403);

  failing = false;
  const queued = await a.post(`/admin/webhooks/${hook.id}/deliveries/${deliveryId}/redeliver`);
  expect([200, 303]).toContain(queued.status);
  await worker.tick();
  expect(receiver.received).toHaveLength(2);
  expect((await t.api('GET', `/api/v1/webhooks/${hook.id}/deliveries/${deliveryId}`)).body.status).toBe('delivered');
  const audit = (await t.api('GET', '/api/v1/audit-logs?action=webhook.redelivery_requested')).body.audit_logs;
  expect(audit).toMatchObject([{ actor: { type: 'admin_page' } }]);
  expect((await a.get('/admin/webhooks')).text).toContain('No deliveries waiting for a retry');
});

it('hides the page from a key without read:webhooks', async () => {
  const key = await t.keyWith('read:organizations');
  const a = new AdminClient(t.url);
  await a.signIn(key);
  expect((await a.get('/admin/organizations')).text).not.toContain('href="/admin/webhooks"');
  expect((await a.get('/admin/webhooks')).status).toBe(403);
});
