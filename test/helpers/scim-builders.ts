import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../src/platform/db.js';
import { jsonRequest, type ApiResponse, type TestApp } from './app.js';
import type { ScimLifecycleListener } from '../../src/modules/scim/lifecycle.js';

/**
 * Connections are another module's API; SCIM tests insert the row directly (migrations/003) so they
 * do not depend on it.
 */
export async function insertConnection(db: Db, opts: { name?: string; domains?: string[] } = {}): Promise<string> {
  const id = randomUUID();
  const now = new Date().toISOString();
  await db('connections').insert({
    id,
    name: opts.name ?? `conn-${id.slice(0, 8)}`,
    type: 'saml',
    idp: JSON.stringify({ entity_id: 'https://idp.example.com', sso_url: 'https://idp.example.com/sso', certificates: [] }),
    attribute_mapping: '{}',
    created_at: now,
    updated_at: now,
  });
  for (const domain of opts.domains ?? []) await db('connection_domains').insert({ domain, connection_id: id });
  return id;
}

export interface ScimClient {
  directoryId: string;
  connectionId: string;
  token: string;
  base: string;
  /** SCIM over real HTTP with the directory token (override with `token`, null for none). */
  req(method: string, path: string, opts?: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> }): Promise<ApiResponse>;
}

export async function createScimDirectory(t: TestApp, opts: { domains?: string[]; name?: string } = {}): Promise<ScimClient> {
  const connectionId = await insertConnection(t.container.db, { domains: opts.domains, name: opts.name });
  const res = await t.api('POST', '/api/v1/directories', { body: { connection_id: connectionId, name: opts.name ?? 'scim' } });
  if (res.status !== 201) throw new Error(`directory create failed: ${res.status} ${res.text}`);
  const directoryId = res.body.id as string;
  const token = res.body.token as string;
  const base = `/scim/v2/${directoryId}`;
  return {
    directoryId,
    connectionId,
    token,
    base,
    req: async (method, path, o = {}) => {
      const tok = o.token === undefined ? token : o.token;
      const headers: Record<string, string> = { 'content-type': 'application/scim+json', ...o.headers };
      if (tok) headers.authorization = `Bearer ${tok}`;
      const body = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
      return jsonRequest(t.url + (path.startsWith('/scim') ? path : base + path), method, headers, body);
    },
  };
}

export interface ReplayStep {
  file: string;
  description: string;
  request: { method: string; path: string; body?: unknown };
  response: { status: number; body?: unknown; absent?: string[][] };
  capture?: Record<string, string>;
}

/** Loads recorded IdP requests (`fixtures/scim/<idp>/NN-case.json`) in the order the IdP sends them. */
export function loadFixtures(idp: string): ReplayStep[] {
  const dir = join(import.meta.dirname, '../../fixtures/scim', idp);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Omit<ReplayStep, 'file'>) }));
}

/** Substitutes `${name}` with values captured from earlier responses. */
export function substitute<T>(value: T, vars: Record<string, string>): T {
  if (typeof value === 'string') return value.replace(/\$\{(\w+)\}/g, (m, k: string) => vars[k] ?? m) as T;
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [substitute(k, vars), substitute(v, vars)])) as T;
  return value;
}

const HOOKS = ['userProvisioned', 'userDeactivated', 'userReactivated', 'userDeleted', 'groupMembersAdded', 'groupMembersRemoved', 'groupDeleted'] as const;

/** Replaces some lifecycle hooks of the app's listener, keeping the others working. */
export function overrideLifecycle(t: TestApp, overrides: Partial<Record<(typeof HOOKS)[number], (trx: unknown, change: never) => Promise<void>>>): void {
  const base = t.container.scimLifecycle;
  t.container.scimLifecycle = Object.fromEntries(
    HOOKS.map((h) => [h, overrides[h] ?? ((trx: never, change: never) => (base[h] as (a: never, b: never) => Promise<void>).call(base, trx, change))]),
  ) as unknown as ScimLifecycleListener;
}
