import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startMain, stopProcess, tempDir } from '../helpers/process.js';
import { createTestDatabase, TEST_DATABASE_URL, withSearchPath, type TestDatabase } from '../helpers/db.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { loadConfig } from '../../src/config/index.js';
import { startServer } from '../../src/server.js';
import { createLogger } from '../../src/platform/logger.js';

const KEY = 'reliability-bootstrap-key-0123456789';
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function databaseUrl(): Promise<string> {
  if (!TEST_DATABASE_URL) return `sqlite:${join(tempDir(), 'orgsync.sqlite')}`;
  const d: TestDatabase = await createTestDatabase('postgres');
  cleanups.push(() => d.cleanup());
  return d.url;
}

/** Sends a request whose body arrives in two parts, `gapMs` apart; resolves with the raw response. */
function slowRequest(url: string, body: string, midway: () => void, gapMs = 300): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let response = '';
    socket.on('data', (d) => (response += d.toString()));
    socket.on('end', () => resolve(response));
    socket.on('error', reject);
    socket.write(
      `POST /api/v1/organizations HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n` +
        body.slice(0, 5),
    );
    setTimeout(midway, 50);
    setTimeout(() => socket.write(body.slice(5)), gapMs);
  });
}

describe('process lifecycle', () => {
  it('drains an in-flight request on SIGTERM, then exits 0', async () => {
    const s = await startMain({ DATABASE_URL: await databaseUrl(), ORGSYNC_BOOTSTRAP_API_KEY: KEY });
    let exited: Promise<number | null> | undefined;
    const response = await slowRequest(s.url, JSON.stringify({ name: 'drained' }), () => {
      exited = stopProcess(s.child, 'SIGTERM');
    });
    expect(response).toMatch(/^HTTP\/1\.1 201/);
    expect(await exited).toBe(0);
  });

  it('never writes API keys or bearer tokens to the logs', async () => {
    const s = await startMain({ DATABASE_URL: await databaseUrl(), ORGSYNC_BOOTSTRAP_API_KEY: KEY, LOG_LEVEL: 'trace' });
    try {
      await fetch(`${s.url}/api/v1/organizations`, { headers: { authorization: `Bearer ${KEY}` } });
      const created = await fetch(`${s.url}/api/v1/api-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'second', scopes: ['read:organizations'] }),
      });
      const second = ((await created.json()) as { key: string }).key;
      await fetch(`${s.url}/api/v1/organizations`, { headers: { authorization: `Bearer ${second}` } });
      await fetch(`${s.url}/api/v1/organizations`, { headers: { authorization: 'Bearer osk_wrong-key-also-secret' } });
      await new Promise((r) => setTimeout(r, 200));
      const out = s.output();
      expect(out).toMatch(/"path":"\/api\/v1\/organizations","status":200/);
      for (const secret of [KEY, second, 'osk_wrong-key-also-secret']) expect(out).not.toContain(secret);
    } finally {
      await stopProcess(s.child);
    }
  });
});

describe('slow clients', () => {
  it('closes a connection that never finishes its headers', async () => {
    // In memory: this is about the HTTP server's timeouts, and the request never reaches the database.
    const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    const running = await startServer(config, createLogger('silent'), { headersTimeoutMs: 500, requestTimeoutMs: 1000, keepAliveTimeoutMs: 500, checkIntervalMs: 100 }, () => {});
    try {
      const { port } = new URL(running.url);
      const started = Date.now();
      const closed = await new Promise<string>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1');
        let got = '';
        socket.on('data', (d) => (got += d.toString()));
        socket.on('close', () => resolve(got));
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
        // …and never finish the headers.
      });
      expect(closed).toMatch(/^HTTP\/1\.1 408/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await running.stop();
    }
  });
});

describe('database outage', () => {
  it.skipIf(!TEST_DATABASE_URL)('answers 503 while PostgreSQL is unreachable and recovers without a restart', async () => {
    const d = await createTestDatabase('postgres');
    cleanups.push(() => d.cleanup());
    const target = new URL(TEST_DATABASE_URL!);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    cleanups.push(() => proxy.cut());
    const viaProxy = new URL(TEST_DATABASE_URL!);
    viaProxy.port = String(proxy.port);
    const config = loadConfig({
      DATABASE_URL: withSearchPath(viaProxy.toString(), d.schema!),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      ORGSYNC_BOOTSTRAP_API_KEY: KEY,
    });
    const running = await startServer(config, createLogger('silent'));
    cleanups.push(() => running.stop());
    const get = (path: string) => fetch(running.url + path, { headers: { authorization: `Bearer ${KEY}` } });

    expect((await get('/api/v1/organizations')).status).toBe(200);
    await proxy.cut();
    expect((await get('/healthz')).status).toBe(503);
    const down = await get('/api/v1/organizations');
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable', errorCode: 'database_unavailable' });

    await proxy.restore();
    let recovered = 0;
    for (let i = 0; i < 20 && recovered !== 200; i++) {
      recovered = (await get('/api/v1/organizations')).status;
      if (recovered !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(recovered).toBe(200);
    expect((await get('/healthz')).status).toBe(200);
  });
});
