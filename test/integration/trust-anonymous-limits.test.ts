import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { samlConnection } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';
import { OidcTestOp } from '../helpers/oidc-op.js';
import { AdminClient } from '../helpers/admin-client.js';
import type { ManualClock } from '../../src/platform/clock.js';
import type { Db } from '../../src/platform/db.js';

/**
 * Tenant trust, anonymous endpoints: starting a sign-in (SAML, OIDC, the admin page) writes no row,
 * and every client has a per-minute budget of unauthenticated requests, answered past it with
 * `429` and `Retry-After` in each surface's own format.
 */
let t: TestApp;
let saml: { idp: SamlTestIdp; id: string } | undefined;
let op: OidcTestOp | undefined;
let oidcId: string;

afterEach(async () => {
  await saml?.idp.stop();
  await op?.stop();
  await t.close();
  saml = undefined;
  op = undefined;
});

async function setUp(env: Record<string, string>): Promise<void> {
  t = await startTestApp({ env });
  saml = await samlConnection(t);
  op = new OidcTestOp();
  await op.start();
  const res = await t.api('POST', '/api/v1/connections', {
    body: { name: 'globex-oidc', type: 'oidc', domains: ['globex.com'], idp: { issuer: op.issuer, client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789' } },
  });
  oidcId = res.body.id;
  op.configure({ client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789', redirect_uris: [res.body.sp.redirect_uri] });
}

async function tableNames(db: Db): Promise<string[]> {
  if (db.client.config.client === 'pg') {
    const r = await db.raw<{ rows: { table_name: string }[] }>(`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`);
    return r.rows.map((x) => x.table_name).sort();
  }
  const rows = await db.raw<{ name: string }[]>(`select name from sqlite_master where type = 'table' and name not like 'sqlite%'`);
  return rows.map((x) => x.name).sort();
}

/** Rows in every table, and on SQLite the page count: what "the database did not grow" means. */
async function footprint(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of await tableNames(db)) out[name] = Number((await db(name).count({ n: '*' }).first())?.n ?? 0);
  if (db.client.config.client !== 'pg') out['(sqlite pages)'] = Number((await db.raw<{ page_count: number }[]>('PRAGMA page_count'))[0]!.page_count);
  return out;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One request from a chosen loopback address, so tests can be two clients; on a fresh socket unless `agent` keeps them alive. */
function from(localAddress: string, url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; agent?: Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers: opts.headers, localAddress, agent: opts.agent ?? false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('anonymous requests leave the database as it was', () => {
  it('10,000 requests to the sign-in endpoints (SAML, OIDC, admin page) add no row anywhere', async () => {
    await setUp({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000' });
    const admin = new AdminClient(t.url);
    await admin.get('/admin/sign-in');
    // Kept-alive sockets, as a browser or a scripted client holds them (fetch's own work per request
    // here cost about as much as the server's, in this same process).
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    onTestFinished(() => agent.destroy());
    const send = async (path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}) => (await from('127.0.0.1', `${t.url}${path}`, { ...opts, agent })).status;
    const kinds: Array<() => Promise<number>> = [
      () => send(`/sso/saml/${saml!.id}/login?return_to=%2Faccount`),
      () => send(`/sso/oidc/${oidcId}/login?return_to=%2Faccount`),
      () => send('/admin/sign-in'),
      () => send('/admin/sign-in', { method: 'POST', headers: { ...form, cookie: admin.cookieHeader(), origin: t.url }, body: `_csrf=${admin.csrf}&api_key=osk_wrong` }),
      () => send('/admin/sso?email=x%40nowhere.example'),
      () => send('/admin/organizations'),
      () => send(`/sso/saml/${saml!.id}/acs`, { method: 'POST', headers: form, body: 'SAMLResponse=PHNhbWxwOlJlc3BvbnNlLz4%3D' }),
      () => send(`/sso/saml/${saml!.id}/continue?handoff=${'x'.repeat(43)}`),
      () => send(`/sso/oidc/${oidcId}/callback?code=abc&state=xyz`),
    ];
    // Once each first: discovery, the attempt counter's row and this minute's counter row exist.
    const warm = await Promise.all(kinds.map((k) => k()));
    expect(warm).toEqual([302, 302, 200, 401, 303, 303, 400, 400, 400]);
    const before = await footprint(t.container.db);

    const TOTAL = 10_000;
    let next = 0;
    const statuses = new Map<number, number>();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < TOTAL) {
          const status = await kinds[next++ % kinds.length]!();
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(TOTAL);
    // The wrong-key sign-in attempts run into their own (older) limit: 401, then 429.
    expect([...statuses.keys()].sort()).toEqual([200, 302, 303, 400, 401, 429]);
    expect(statuses.get(429)).toBeLessThanOrEqual(Math.ceil(TOTAL / kinds.length));
    expect(await footprint(t.container.db)).toEqual(before);
    expect(before.sessions).toBe(0);
    // A few seconds on an idle machine; minutes when many test runs share two cores (PostgreSQL).
  }, 600_000);
});

describe('per-client limit on anonymous requests (RATE_LIMIT_ANONYMOUS_PER_MINUTE)', () => {
  it('past the limit: 429 with Retry-After on every anonymous endpoint, in the SSO and admin formats; another client is unaffected', async () => {
    await setUp({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: '5' });
    const me = '127.0.0.1';
    for (let i = 0; i < 5; i++) expect((await from(me, `${t.url}/sso/saml/${saml!.id}/login`)).status).toBe(302);

    const page = await from(me, `${t.url}/sso/saml/${saml!.id}/login`);
    expect(page.status).toBe(429);
    expect(Number(page.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(page.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toMatch(/Sign-in failed[\s\S]*Too many requests from your network[\s\S]*<code>too_many_requests<\/code>/);

    const json = await from(me, `${t.url}/sso/oidc/${oidcId}/login`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(429);
    expect(json.headers['retry-after']).toBeTruthy();
    expect(JSON.parse(json.text)).toMatchObject({ statusCode: 429, error: 'Too Many Requests', errorCode: 'too_many_requests', reason: 'too_many_requests' });

    const sso: Array<[string, string, string?]> = [
      ['GET', `/sso/oidc/${oidcId}/callback?code=abc&state=xyz`],
      ['POST', `/sso/saml/${saml!.id}/acs`, 'SAMLResponse=x'],
      ['GET', `/sso/saml/${saml!.id}/continue?handoff=x`],
    ];
    for (const [method, path, body] of sso) {
      const res = await from(me, `${t.url}${path}`, { method, body, headers: { accept: 'application/json', ...(body ? form : {}) } });
      expect(res.status, path).toBe(429);
      expect(res.headers['retry-after'], path).toBeTruthy();
      expect(JSON.parse(res.text).reason, path).toBe('too_many_requests');
    }
    for (const [method, path, body] of [['GET', '/admin/sign-in'], ['POST', '/admin/sign-in', 'api_key=osk_x'], ['GET', '/admin/sso?email=a%40b.example']] as const) {
      const res = await from(me, `${t.url}${path}`, { method, body, headers: body ? { ...form, origin: t.url } : {} });
      expect(res.status, path).toBe(429);
      expect(res.headers['retry-after'], path).toBeTruthy();
      expect(res.text, path).toMatch(/<h1 id="error-title">Too Many Requests<\/h1>[\s\S]*Too many requests from your network/);
    }

    // A client on another address has a budget of its own.
    expect((await from('127.0.0.2', `${t.url}/sso/saml/${saml!.id}/login`)).status).toBe(302);
    expect((await from('127.0.0.2', `${t.url}/admin/sign-in`)).status).toBe(200);
    // Next minute, the first client is welcome again.
    (t.clock as ManualClock).advance(60_000);
    expect((await from(me, `${t.url}/sso/saml/${saml!.id}/login`)).status).toBe(302);
  });

  it('the counter is one row per client per minute, old minutes pruned; 0 turns the limit off', async () => {
    await setUp({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000' });
    const anonRows = () => t.container.db('rate_limits').where('bucket', 'like', 'anon:%');
    // The test clock starts at the wall time; five seconds into the next minute, the second below
    // stays in the same window whatever time the test runs at.
    const clock = t.clock as ManualClock;
    clock.set(new Date(Math.ceil(clock.now().getTime() / 60_000) * 60_000 + 5_000));
    // Counted in batches: a client's first request of a minute, then at least once a second, more
    // often near the limit. Twenty requests from one client are a write or two, not twenty.
    let upserts = 0;
    const count = (q: { sql: string }) => {
      if (/insert into rate_limits/i.test(q.sql)) upserts++;
    };
    t.container.db.on('query', count);
    for (const address of ['127.0.0.1', '127.0.0.2']) {
      for (let i = 0; i < 20; i++) expect((await from(address, `${t.url}/admin/sign-in`)).status).toBe(200);
    }
    t.container.db.removeListener('query', count);
    expect(upserts).toBeLessThanOrEqual(4);
    clock.advance(1_000);
    for (const address of ['127.0.0.1', '127.0.0.2']) expect((await from(address, `${t.url}/admin/sign-in`)).status).toBe(200);
    expect((await anonRows()).map((r: { bucket: string; count: number }) => [r.bucket, Number(r.count)]).sort()).toEqual([
      ['anon:127.0.0.1', 21],
      ['anon:127.0.0.2', 21],
    ]);
    clock.advance(3 * 60_000);
    expect((await from('127.0.0.1', `${t.url}/admin/sign-in`)).status).toBe(200);
    expect((await anonRows()).map((r: { bucket: string }) => r.bucket)).toEqual(['anon:127.0.0.1']);

    await saml!.idp.stop();
    await op!.stop();
    await t.close();
    await setUp({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0' });
    for (let i = 0; i < 30; i++) expect((await from('127.0.0.1', `${t.url}/sso/saml/${saml!.id}/login`)).status).toBe(302);
    expect(await anonRows()).toHaveLength(0);
  });
});

describe('client addresses behind a reverse proxy (TRUST_PROXY)', () => {
  const login = (xff: string) => from('127.0.0.1', `${t.url}/sso/saml/${saml!.id}/login`, { headers: { 'x-forwarded-for': xff } });

  it('without TRUST_PROXY, X-Forwarded-For is ignored: a client cannot buy a fresh budget by naming another address', async () => {
    await setUp({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: '3' });
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) statuses.push((await login(`203.0.113.${i}`)).status);
    expect(statuses).toEqual([302, 302, 302, 429, 429]);
  });

  it('with TRUST_PROXY=loopback, each client behind the proxy has its own budget, and addresses it prepends do not count', async () => {
    await setUp({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: '3', TRUST_PROXY: 'loopback' });
    const statuses: number[] = [];
    // What the client sent itself comes first; the proxy appends the address it saw.
    for (let i = 1; i <= 4; i++) statuses.push((await login(`198.51.100.${i}, 203.0.113.1`)).status);
    expect(statuses).toEqual([302, 302, 302, 429]);
    expect((await login('203.0.113.2')).status).toBe(302);
    expect((await t.container.db('rate_limits').where('bucket', 'like', 'anon:%').pluck('bucket')).sort()).toEqual(['anon:203.0.113.1', 'anon:203.0.113.2']);
  });
});

describe('pre-login state lives in the browser, sealed, not in the database', () => {
  it('SAML and OIDC sign-in starts set a short-lived, HttpOnly, SameSite=Lax cookie scoped to the connection, and no session', async () => {
    await setUp({});
    for (const [protocol, id] of [['saml', saml!.id], ['oidc', oidcId]] as const) {
      const res = await fetch(`${t.url}/sso/${protocol}/${id}/login`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      const cookies = res.headers.getSetCookie();
      expect(cookies).toHaveLength(1);
      expect(cookies[0]).toMatch(new RegExp(`^orgsync\\.${protocol}\\.${id}=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+;`));
      expect(cookies[0]).toMatch(new RegExp(`Path=/sso/${protocol}/${id}/`));
      expect(cookies[0]).toMatch(/HttpOnly/);
      expect(cookies[0]).toMatch(/SameSite=Lax/);
      expect(Number(/Max-Age=(\d+)/.exec(cookies[0]!)?.[1])).toBeLessThanOrEqual(600);
      // Sealed: nothing of the request (state, nonce, verifier, request id, return target) is readable.
      const location = new URL(res.headers.get('location')!);
      const state = location.searchParams.get('state');
      if (state) expect(cookies[0]).not.toContain(state);
    }
    expect(await t.container.db('sessions')).toHaveLength(0);
    expect(await t.container.db('saml_requests')).toHaveLength(0);
  });

  it('the admin sign-in form needs no session: its token is bound to the browser’s cookie, not transferable', async () => {
    await setUp({});
    const visitor = new AdminClient(t.url);
    await visitor.get('/admin/sign-in');
    expect(visitor.cookie).toBe('');
    expect(visitor.others.get('orgsync.csrf')).toBeTruthy();
    expect(await t.container.db('sessions')).toHaveLength(0);

    // An attacker's own token and cookie pair does not work with the victim's cookie, nor without one.
    const attacker = new AdminClient(t.url);
    await attacker.get('/admin/sign-in');
    expect((await visitor.post('/admin/sign-in', { api_key: t.adminKey }, { csrf: attacker.csrf })).status).toBe(403);
    const noCookie = await fetch(`${t.url}/admin/sign-in`, { method: 'POST', headers: { ...form, origin: t.url }, body: new URLSearchParams({ _csrf: attacker.csrf, api_key: t.adminKey }), redirect: 'manual' });
    expect(noCookie.status).toBe(403);
    expect(await t.container.db('sessions')).toHaveLength(0);

    const signedIn = await visitor.post('/admin/sign-in', { api_key: t.adminKey });
    expect(signedIn.status).toBe(303);
    expect(visitor.cookie).toMatch(/^orgsync\.sid=/);
    expect(await t.container.db('sessions')).toHaveLength(1);
    expect((await visitor.get('/admin/organizations')).status).toBe(200);
  });
});
