import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createContainer, type Container } from '../../src/container.js';
import { createApp } from '../../src/app.js';
import { ManualClock, type Clock } from '../../src/platform/clock.js';
import { createLogger } from '../../src/platform/logger.js';
import { ALL_SCOPES, type Scope } from '../../src/http/scopes.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { testKeyPairs } from './key-pairs.js';

export interface TestApp {
  container: Container;
  database: TestDatabase;
  url: string;
  adminKey: string;
  clock: Clock;
  /** JSON over real HTTP; `key` defaults to the all-scopes admin key (pass null for none). */
  api(method: string, path: string, opts?: { body?: unknown; key?: string | null; headers?: Record<string, string>; raw?: string }): Promise<ApiResponse>;
  keyWith(...scopes: Scope[]): Promise<string>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
  text: string;
}

export async function startTestApp(
  options: { env?: Record<string, string>; clock?: Clock; publicUrl?: boolean; publicHost?: string } = {},
): Promise<TestApp> {
  const database = await createTestDatabase('default', { migrated: true });
  let config: Config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', ORGSYNC_SECRET: 'test-secret-0123456789', ...options.env });
  const clock = options.clock ?? new ManualClock(new Date());
  const container = await createContainer({ config, db: database.db, clock, logger: createLogger('silent'), keyPairs: testKeyPairs });
  const server: Server = await new Promise((resolve) => {
    const s = createApp(container).listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (options.publicUrl !== false) {
    // PUBLIC_URL follows the ephemeral port so SAML/OIDC URLs built from it are reachable.
    // `publicHost`: the same port under another host name (a browser maps it to 127.0.0.1).
    const port = (server.address() as AddressInfo).port;
    config = { ...config, publicUrl: options.env?.PUBLIC_URL ?? (options.publicHost ? `http://${options.publicHost}:${port}` : url) };
    (container as { config: Config }).config = config;
  }
  const admin = await container.apiKeys.create({ name: 'test-admin', scopes: [...ALL_SCOPES] }, { type: 'system', id: null });

  const api = apiClient(url, admin.key);

  return {
    container,
    database,
    url,
    adminKey: admin.key,
    clock,
    api,
    keyWith: async (...scopes) => (await container.apiKeys.create({ name: 'scoped', scopes }, { type: 'system', id: null })).key,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await database.cleanup();
    },
  };
}

/** JSON over real HTTP to a base URL; `key` defaults to `defaultKey` (pass null for none). */
export function apiClient(baseUrl: string, defaultKey: string): TestApp['api'] {
  return async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? defaultKey : opts.key;
    if (key) headers.authorization = `Bearer ${key}`;
    const body = opts.body !== undefined ? JSON.stringify(opts.body) : opts.raw;
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    return jsonRequest(baseUrl + path, method, headers, body);
  };
}

/** One request; the body is parsed as JSON when it is JSON. */
export async function jsonRequest(url: string, method: string, headers: Record<string, string>, body?: string): Promise<ApiResponse> {
  const res = await fetch(url, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}
