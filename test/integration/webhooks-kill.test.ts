import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMain, stopProcess, tempDir } from '../helpers/process.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../helpers/db.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { loadConfig } from '../../src/config/index.js';
import { createContainer, type Container } from '../../src/container.js';
import { createLogger } from '../../src/platform/logger.js';
import { verifyOrgsyncSignature } from '../../src/modules/webhooks/verify.js';
import type { EventInput } from '../../src/modules/events/service.js';

const KEY = 'bootstrap-key-for-webhook-kill-test-0123';
const SECRET = 'kill-test-secret-0123456789';
const U1 = '01900000-0000-7000-8000-0000000000b1';
const U2 = '01900000-0000-7000-8000-0000000000b2';

// One database per pass: the SQLite pass kills a server on a SQLite file, the PostgreSQL pass on
// PostgreSQL (each is about twenty seconds of waiting for the killed server's delivery lease).
const targets = [
  ['a SQLite file', !TEST_DATABASE_URL],
  ['PostgreSQL', !!TEST_DATABASE_URL],
] as const;

describe.each(targets)('no event is lost when the server is killed (%s)', (kind, available) => {
  let receiver: Receiver | undefined;
  let writer: Container | undefined;
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await receiver?.close();
    await writer?.close();
    await database?.cleanup();
  });

  it.skipIf(!available)('redelivers after SIGKILL between the write and the delivery', async () => {
    let DATABASE_URL = `sqlite:${join(tempDir(), 'orgsync.sqlite')}`;
    if (kind === 'PostgreSQL') {
      database = await createTestDatabase('postgres');
      DATABASE_URL = database.url;
    }
    const env = { DATABASE_URL, ORGSYNC_BOOTSTRAP_API_KEY: KEY, ORGSYNC_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', LOG_LEVEL: 'warn' };
    // The first request is held open, so the server dies with that delivery in flight.
    receiver = await startReceiver((_r, i) => (i === 0 ? 'hang' : { status: 200 }));
    const first = await startMain(env);
    let secret: string;
    try {
      const created = await fetch(`${first.url}/api/v1/webhooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${receiver.url}/hook`, events: ['membership.added', 'membership.flagged', 'user.deactivated'] }),
      });
      expect(created.status).toBe(201);
      secret = ((await created.json()) as { secret: string }).secret;

      // Changes committed by another process sharing the database (as SCIM or login code would).
      writer = await createContainer({ config: loadConfig({ DATABASE_URL, ORGSYNC_SECRET: SECRET, LOG_LEVEL: 'silent' }), logger: createLogger('silent'), migrate: false });
      const emit = (...events: EventInput[]) => writer!.db.transaction((trx) => writer!.events.emit(trx, ...events));
      await emit({ type: 'membership.added', userId: U1, data: { n: 1 } });
      await emit({ type: 'membership.added', userId: U2, data: { n: 2 } });
      await emit({ type: 'membership.flagged', userId: U1, data: { n: 3 } });
      await receiver.waitFor(1);
    } finally {
      await stopProcess(first.child, 'SIGKILL');
    }
    // Written while no server runs at all.
    await writer.db.transaction((trx) => writer!.events.emit(trx, { type: 'user.deactivated', userId: U1, data: { n: 4 } }));

    const second = await startMain(env);
    try {
      const want = new Set([1, 2, 3, 4]);
      const deadline = Date.now() + 40_000;
      const okBodies = () => receiver!.received.slice(1).map((r) => r.body.data.n as number);
      while (!okBodies().filter((n) => n !== 2).includes(4) || !okBodies().includes(2)) {
        if (Date.now() > deadline) throw new Error(`received only ${JSON.stringify(okBodies())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const answered = receiver.received.slice(1);
      expect(new Set(answered.map((r) => r.body.data.n))).toEqual(want);
      // U1's events arrive in order, starting again with the one that was in flight.
      expect(answered.filter((r) => r.body.user_id === U1).map((r) => r.body.data.n)).toEqual([1, 3, 4]);
      const inFlight = receiver.received[0]!;
      expect(inFlight.body.data.n).toBe(1);
      expect(answered.find((r) => r.body.user_id === U1)!.headers['orgsync-event-id']).toBe(inFlight.headers['orgsync-event-id']);
      for (const r of answered) expect(verifyOrgsyncSignature(String(r.headers['orgsync-signature']), r.raw, secret).ok).toBe(true);
    } finally {
      expect(await stopProcess(second.child)).toBe(0);
    }
  }, 90_000);
});
