/**
 * Event log and webhook delivery throughput, on in-memory SQLite, loopback only, about 20 seconds:
 * - `GET /api/v1/events?after=…&take=100` with 50,000 events in the log (replay from random cursors);
 * - outbox writes (one transaction per event) per second;
 * - webhook deliveries per second to a loopback receiver (fan-out, claim, sign, POST, record).
 * Request rates are printed as ratios against a bare express JSON route measured in the same run.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config/index.js';
import { createContainer } from '../src/container.js';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/platform/logger.js';
import { WebhookWorker } from '../src/modules/webhooks/worker.js';
import type { EventInput } from '../src/modules/events/service.js';
import { fmt, load, measureBaseline, printTable } from './lib/harness.js';
import { inTransaction } from '../src/platform/transaction.js';

const EVENTS = 50_000;
const USERS = 500;
const userId = (i: number) => `01900000-0000-7000-8000-${String(i % USERS).padStart(12, '0')}`;

export async function run(): Promise<void> {
  const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', ORGSYNC_SECRET: 'bench-secret-0123456789', RATE_LIMIT_API_PER_MINUTE: '0', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
  const c = await createContainer({ config, logger: createLogger('silent') });
  const key = (await c.apiKeys.create({ name: 'bench', scopes: ['read:events'] }, { type: 'system', id: null })).key;
  const batch: EventInput[] = [];
  for (let i = 0; i < EVENTS; i++) batch.push({ type: 'membership.added', organizationId: null, userId: userId(i), data: { role: 'member', i } });
  const seeded = Date.now();
  for (let i = 0; i < EVENTS; i += 1000) await inTransaction(c.db, (trx) => c.events.emit(trx, ...batch.slice(i, i + 1000)));
  console.log(`seeded ${EVENTS} events in ${Date.now() - seeded} ms`);

  const app: Server = await new Promise((resolve) => {
    const s = createApp(c).listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  try {
    const baseline = await measureBaseline({ durationMs: 3000 });
    const replay = await load(url, '', {
      durationMs: 3000,
      headers: { authorization: `Bearer ${key}` },
      path: (i) => `/api/v1/events?take=100&after=${(i * 7919) % (EVENTS - 100)}`,
    });
    printTable(baseline, [['GET /events?after=…&take=100 (50k events)', replay]]);

    // Outbox writes: one transaction per event, as a membership change would do.
    const writes = 2000;
    let t0 = performance.now();
    for (let i = 0; i < writes; i++) await inTransaction(c.db, (trx) => c.events.emit(trx, { type: 'user.updated', userId: userId(i) }));
    console.log(`outbox writes: ${fmt(writes / ((performance.now() - t0) / 1000), 0)} transactions/s`);

    // Webhook delivery to a loopback receiver.
    let received = 0;
    const receiver: Server = await new Promise((resolve) => {
      const s = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          received++;
          res.writeHead(204).end();
        });
      }).listen(0, '127.0.0.1', () => resolve(s));
    });
    await c.webhooks.create({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, events: ['membership.flagged'] }, { type: 'system', id: null });
    const deliveries = 3000;
    for (let i = 0; i < deliveries; i += 500) {
      const chunk: EventInput[] = [];
      for (let j = i; j < Math.min(deliveries, i + 500); j++) chunk.push({ type: 'membership.flagged', userId: userId(j), data: { reason: 'idp_deactivated' } });
      await inTransaction(c.db, (trx) => c.events.emit(trx, ...chunk));
    }
    const worker = new WebhookWorker(c, { batchSize: 50 });
    t0 = performance.now();
    const deadline = Date.now() + 20_000;
    while (received < deliveries && Date.now() < deadline) await worker.tick();
    const seconds = (performance.now() - t0) / 1000;
    await worker.stop();
    console.log(`webhook deliveries: ${received}/${deliveries} in ${fmt(seconds)} s = ${fmt(received / seconds, 0)} deliveries/s (${fmt(received / seconds / baseline.rps, 3)} of the bare route's req/s)`);
    await new Promise((r) => receiver.close(r));
  } finally {
    await new Promise((r) => app.close(r));
    await c.close();
  }
}
