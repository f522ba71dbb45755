import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { ManualClock } from '../../src/platform/clock.js';
import { WebhookWorker } from '../../src/modules/webhooks/worker.js';
import { isPublicAddress } from '../../src/modules/webhooks/target-guard.js';

/**
 * Tenant trust (SPEC §10, issue on tenant trust item 7): a webhook is a request the server makes on
 * someone's behalf, so a key holder who may create webhooks must not reach the instance's own
 * network through address forms the guard took for public: IPv4 embedded in IPv6 (compatible,
 * mapped, NAT64, 6to4), Teredo, site-local, and IPv4 spelled in hex, octal or as one number.
 */
const HOSTILE = [
  'http://[::127.0.0.1]/hook',
  'http://[::a00:1]/hook',
  'http://[::8.8.8.8]/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://[::ffff:a00:1]/hook',
  'http://[::ffff:8.8.8.8]/hook',
  'http://[64:ff9b::a00:1]/hook',
  'http://[64:ff9b::127.0.0.1]/hook',
  'http://[64:ff9b::a9fe:a9fe]/latest/meta-data',
  'http://[64:ff9b:1::a00:1]/hook',
  'http://[2002:a00:1::1]/hook',
  'http://[2002:7f00:1::1]/hook',
  'http://[2002:c0a8:101::1]/hook',
  'http://[2001::1]/hook',
  'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook',
  'http://[fec0::1]/hook',
  'http://[fc00::1]/hook',
  'http://[fd00:ec2::254]/latest/meta-data',
  'http://[fe80::1]/hook',
  'http://[ff02::1]/hook',
  'http://[::]/hook',
  'http://[::1]/hook',
  'http://[2001:db8::1]/hook',
  'http://[100::1]/hook',
  'http://0x7f.1/hook',
  'http://2130706433/hook',
  'http://127.1/hook',
  'http://0177.0.0.1/hook',
  'http://0x7f000001/hook',
  'http://0/hook',
  'http://0x0a.0.0.1/hook',
  'http://012.1/hook',
  'http://0xa9.0xfe.0xa9.0xfe/latest/meta-data',
  'http://192.0.0.8/hook',
  'http://198.18.0.1/hook',
  'http://[0:0:0:0:0:ffff:7f00:1]/hook',
];

describe('webhook targets that hide a private address', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('refuses every hostile form at creation and on update, and stores nothing', async () => {
    t = await startTestApp();
    const key = await t.keyWith('create:webhooks', 'update:webhooks');
    const accepted: string[] = [];
    for (const url of HOSTILE) {
      const r = await t.api('POST', '/api/v1/webhooks', { key, body: { url, events: ['user.updated'] } });
      if (r.status !== 400 || r.body.errorCode !== 'webhook_target_not_allowed') accepted.push(`${url} → ${r.status} ${r.body?.errorCode}`);
    }
    expect(accepted).toEqual([]);
    expect(await t.container.db('webhooks')).toHaveLength(0);

    // Public IPv6 targets stay allowed, including an IPv4-only host reached through DNS64/NAT64.
    for (const url of ['http://[2606:4700:4700::1111]/hook', 'http://[64:ff9b::5db8:d70e]/hook', 'https://93.184.215.14/hook']) {
      expect((await t.api('POST', '/api/v1/webhooks', { key, body: { url, events: ['user.updated'] } })).status, url).toBe(201);
    }
    const hook = (await t.container.db('webhooks').first()).id as string;
    const moved = [];
    for (const url of HOSTILE) moved.push((await t.api('PATCH', `/api/v1/webhooks/${hook}`, { key, body: { url } })).status);
    expect(moved.every((s) => s === 400)).toBe(true);
    expect(await t.container.db('webhooks').whereNotIn('url', ['http://[2606:4700:4700::1111]/hook', 'http://[64:ff9b::5db8:d70e]/hook', 'https://93.184.215.14/hook'])).toHaveLength(0);
  });

  describe('at delivery time', () => {
    let clock: ManualClock;
    let receiver: Receiver;
    let worker: WebhookWorker;
    beforeEach(async () => {
      clock = new ManualClock(new Date('2026-04-01T12:00:00.000Z'));
      t = await startTestApp({ clock });
      receiver = await startReceiver();
      worker = new WebhookWorker(t.container, { random: () => 1 });
    });
    afterEach(async () => {
      await worker.stop();
      await receiver.close();
    });

    it('refuses to connect to an embedded loopback address, whatever the stored URL says', async () => {
      const port = new URL(receiver.url).port;
      const targets = [`http://[::127.0.0.1]:${port}/hook`, `http://[::ffff:7f00:1]:${port}/hook`, `http://[64:ff9b::7f00:1]:${port}/hook`, `http://[2002:7f00:1::1]:${port}/hook`];
      const ids: string[] = [];
      for (const target of targets) {
        const hook = await t.api('POST', '/api/v1/webhooks', { body: { url: 'https://93.184.215.14/hook', events: ['user.deactivated'] } });
        expect(hook.status).toBe(201);
        // As if the row had been written before this guard existed, or by another instance.
        await t.container.db('webhooks').where({ id: hook.body.id }).update({ url: target });
        ids.push(hook.body.id);
      }
      await t.container.db.transaction((trx) => t.container.events.emit(trx, { type: 'user.deactivated', userId: '01900000-0000-7000-8000-0000000000a1' }));
      await worker.tick();
      expect(receiver.received).toHaveLength(0);
      for (const id of ids) {
        const d = (await t.api('GET', `/api/v1/webhooks/${id}/deliveries`)).body.deliveries[0];
        expect(d.attempts.map((a: { error: string }) => a.error), id).toEqual([expect.stringContaining('not a public address')]);
      }
    });
  });
});

describe('the address check applied to every resolved address', () => {
  it('takes only public unicast addresses', async () => {
    const refused = ['::7f00:1', '::a00:1', '::808:808', '::ffff:7f00:1', '::ffff:808:808', '64:ff9b::a00:1', '64:ff9b:1::808:808', '2002:a00:1::1', '2002:808:808::1', '2001::1', 'fec0::1', 'fc00::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1', '::', '::1', '1::1', '4000::1', '127.0.0.1', '10.0.0.1', '100.64.0.1', '169.254.169.254', '0.0.0.0', 'nonsense'];
    const allowed = ['2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '64:ff9b::808:808', '8.8.8.8', '93.184.215.14'];
    expect(refused.filter(isPublicAddress)).toEqual([]);
    expect(allowed.filter((a) => !isPublicAddress(a))).toEqual([]);
  });
});
