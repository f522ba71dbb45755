/**
 * The event log and a webhook receiver follow the product's central story over real HTTP:
 * SCIM provisioning, SAML login, IdP deactivation, admin removal — with a receiver outage and a
 * worker restart in the middle. Nothing is lost, each user's events arrive in log order, and every
 * request carries a valid signature.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import type { ScimCall } from '../helpers/scim-client.js';
import { acmeIdp, createOrgs, samlLogin } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { ManualClock } from '../../src/platform/clock.js';
import { EVENT_TYPES } from '../../src/modules/events/service.js';
import { WebhookWorker } from '../../src/modules/webhooks/worker.js';
import { verifyOrgsyncSignature } from '../../src/modules/webhooks/verify.js';

let t: TestApp;
let clock: ManualClock;
let conn: { idp: SamlTestIdp; id: string };
let receiver: Receiver;
let worker: WebhookWorker;
let scim: ScimCall;

beforeEach(async () => {
  clock = new ManualClock(new Date());
  t = await startTestApp({ clock, env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
  await createOrgs(t, 'acme', 'beta');
  ({ conn, scim } = await acmeIdp(t));
  receiver = await startReceiver();
  worker = new WebhookWorker(t.container, { random: () => 1 });
});
afterEach(async () => {
  await worker.stop();
  await receiver.close();
  await conn.idp.stop();
  await t.close();
});

describe('event log and webhooks follow provision → login → deactivate → remove', () => {
  it('delivers every event of the story, in log order per user, through an outage and a worker restart', async () => {
    const hook = (await t.api('POST', '/api/v1/webhooks', { body: { url: `${receiver.url}/orgsync`, events: [...EVENT_TYPES] } })).body;

    // Provision over SCIM, with the group that grants beta.
    const created = await scim('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'alice@acme.com',
      externalId: '00u-alice',
      emails: [{ value: 'alice@acme.com', type: 'work', primary: true }],
      active: true,
    });
    expect(created.status).toBe(201);
    expect((await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Engineering', members: [{ value: created.body.id }] })).status).toBe(201);
    const userId = (await t.api('GET', '/api/v1/users?email=alice@acme.com')).body.users[0].id;
    await worker.tick();

    // Login sync adds both memberships; the receiver is down for the first of them.
    receiver.reply = (r) => (r.body.type === 'membership.added' && !receiver.received.slice(0, -1).some((x) => x.body.type === 'membership.added') ? { status: 502 } : { status: 200 });
    expect((await samlLogin(t, conn, { nameId: 'alice@acme.com', email: 'alice@acme.com' })).meStatus).toBe(200);
    await worker.tick();

    // The IdP deactivates Alice while her first membership event is still waiting for its retry.
    const patch = await scim('PATCH', `/Users/${created.body.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    expect(patch.status).toBe(200);
    await worker.tick();
    const held = receiver.received.length;
    expect(receiver.received.at(-1)!.body.type).toBe('membership.added'); // nothing after it went out

    // The worker process goes away mid-retry and a new one takes over.
    await worker.stop();
    worker = new WebhookWorker(t.container, { random: () => 1 });
    clock.advance(10_000);
    await worker.tick();
    expect(receiver.received.length).toBeGreaterThan(held);

    // The admin removes the flagged acme membership.
    expect((await t.api('DELETE', '/api/v1/organizations/acme/members', { body: { members: [userId] } })).status).toBe(204);
    await worker.tick();

    const log = (await t.api('GET', `/api/v1/events?user=${userId}`)).body.events as Array<{ id: string; type: string; organization_id: string | null }>;
    const types = log.map((e) => e.type);
    expect(types[0]).toBe('user.provisioned');
    expect(types.filter((x) => x === 'membership.added')).toHaveLength(2);
    expect(types).toContain('user.deactivated');
    expect(types.filter((x) => x === 'membership.flagged')).toHaveLength(2);
    expect(types.at(-1)).toBe('membership.removed');

    // Successful deliveries, deduplicated by event id, are exactly the log, in the log's order.
    const delivered: string[] = [];
    receiver.received.forEach((r, i) => {
      const ok = i !== receiver.received.findIndex((x) => x.body.type === 'membership.added');
      if (ok && r.body.user_id === userId && !delivered.includes(r.body.id)) delivered.push(r.body.id);
    });
    expect(delivered).toEqual(log.map((e) => e.id));
    const now = Math.floor(clock.now().getTime() / 1000);
    for (const r of receiver.received) expect(verifyOrgsyncSignature(String(r.headers['orgsync-signature']), r.raw, hook.secret, { now, toleranceSeconds: 60 }).ok).toBe(true);

    const deliveries = (await t.api('GET', `/api/v1/webhooks/${hook.id}/deliveries?take=100`)).body.deliveries;
    expect(deliveries.every((d: { status: string }) => d.status === 'delivered')).toBe(true);
    expect(deliveries.find((d: { attempt_count: number }) => d.attempt_count === 2)).toMatchObject({ event_type: 'membership.added', attempts: [{ status_code: 502 }, { status_code: 200 }] });
  });
});
