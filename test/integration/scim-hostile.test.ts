import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonRequest, startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory, overrideLifecycle, type ScimClient } from '../helpers/scim-builders.js';

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
let t: TestApp;
let s: ScimClient;
let userId: string;

beforeEach(async () => {
  t = await startTestApp();
  s = await createScimDirectory(t);
  userId = (await s.req('POST', '/Users', { body: { userName: 'victim@example.com', name: { givenName: 'V' } } })).body.id;
});
afterEach(async () => {
  await t.close();
});

const enc = encodeURIComponent;
/** The stored state of the directory, to prove a refused request changed nothing. */
const snapshot = async () => JSON.stringify(await t.container.db('scim_users').orderBy('id').select('id', 'data', 'version'));

function expectScimError(res: { status: number; body: Record<string, unknown>; headers: Headers; text: string }, status: number, scimType?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  expect(res.body).toMatchObject({ schemas: [ERROR], status: String(status), ...(scimType ? { scimType } : {}) });
  expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
}

describe('hostile SCIM input', () => {
  it('rejects __proto__/constructor/prototype in filters', async () => {
    for (const f of ['__proto__.isAdmin eq "x"', 'constructor eq "x"', 'name.prototype pr', 'emails[__proto__ eq "x"]']) {
      expectScimError(await s.req('GET', `/Users?filter=${enc(f)}`), 400, 'invalidFilter');
    }
  });

  it('rejects them in attributes and excludedAttributes', async () => {
    expectScimError(await s.req('GET', `/Users?attributes=${enc('__proto__.isAdmin')}`), 400, 'invalidPath');
    expectScimError(await s.req('GET', `/Users/${userId}?excludedAttributes=${enc('name.constructor')}`), 400, 'invalidPath');
    expectScimError(await s.req('GET', `/Groups?attributes=prototype`), 400, 'invalidPath');
  });

  it('rejects them in PATCH paths and body keys, changing nothing', async () => {
    const before = await snapshot();
    const ops = [
      { op: 'add', path: '__proto__.isAdmin', value: true },
      { op: 'replace', path: 'name.constructor', value: 'x' },
      { op: 'replace', path: 'emails[type eq "work"].__proto__', value: 'x' },
    ];
    for (const op of ops) {
      expectScimError(await s.req('PATCH', `/Users/${userId}`, { body: { Operations: [{ op: 'replace', path: 'displayName', value: 'changed' }, op] } }), 400, 'invalidPath');
    }
    expectScimError(await s.req('PATCH', `/Users/${userId}`, { body: { Operations: [{ op: 'replace', value: { displayName: 'changed', __proto__: { isAdmin: true } } }] }, raw: '{"Operations":[{"op":"replace","value":{"displayName":"changed","__proto__":{"isAdmin":true}}}]}' }), 400, 'invalidPath');
    expectScimError(await s.req('POST', '/Users', { raw: '{"userName":"evil@example.com","name":{"constructor":{"prototype":{"x":1}}}}' }), 400, 'invalidPath');
    expectScimError(await s.req('PUT', `/Users/${userId}`, { raw: '{"userName":"victim@example.com","__proto__":{"active":false}}' }), 400, 'invalidPath');
    expect(await snapshot()).toBe(before);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('refuses filters over 2,000 characters and parses pathological ones fast', async () => {
    expectScimError(await s.req('GET', `/Users?filter=${enc(`userName eq "${'a'.repeat(1990)}"`)}`), 400, 'invalidFilter');
    for (const f of [`userName eq "${'\\'.repeat(38)}`, `userName eq "${'\\'.repeat(1986)}`, `${'('.repeat(999)}`]) {
      const t0 = performance.now();
      expectScimError(await s.req('GET', `/Users?filter=${enc(f)}`), 400, 'invalidFilter');
      expect(performance.now() - t0).toBeLessThan(500);
    }
  });

  it('answers malformed JSON with invalidSyntax and bodies over 1 MiB with 413, in SCIM shape', async () => {
    expectScimError(await s.req('POST', '/Users', { raw: '{"userName": ' }), 400, 'invalidSyntax');
    expectScimError(await s.req('POST', '/Users', { raw: JSON.stringify({ userName: 'big@example.com', title: 'x'.repeat(1024 * 1024) }) }), 413);
    expectScimError(await s.req('PATCH', `/Users/${userId}`, { body: { Operations: 'nope' } }), 400, 'invalidSyntax');
    expectScimError(await s.req('PATCH', `/Users/${userId}`, { body: { Operations: [{ op: 'explode', path: 'title' }] } }), 400, 'invalidSyntax');
    expectScimError(await s.req('POST', '/Users', { body: ['not', 'an', 'object'] }), 400, 'invalidValue');
    expectScimError(await s.req('POST', '/Users', { body: { name: { givenName: 'no userName' } } }), 400, 'invalidValue');
    expectScimError(await s.req('POST', '/Users', { body: { userName: 'x@example.com', active: 'maybe' } }), 400, 'invalidValue');
  });

  it('answers unknown routes, /Me and wrong methods with SCIM errors', async () => {
    expectScimError(await s.req('GET', '/Nope'), 404);
    expectScimError(await s.req('GET', '/Users/a/b'), 404);
    expectScimError(await s.req('GET', '/scim/v2'), 404);
    expectScimError(await s.req('GET', '/Me'), 501);
    expectScimError(await s.req('DELETE', '/Users'), 405);
    expectScimError(await s.req('GET', '/Bulk'), 405);
  });

  it('hides internal failures: 500 with a SCIM body and no stack', async () => {
    overrideLifecycle(t, { userDeactivated: async () => { throw new Error('secret internals at /srv/app.ts:12'); } });
    const res = await s.req('PATCH', `/Users/${userId}`, { body: { Operations: [{ op: 'replace', value: { active: false } }] } });
    expectScimError(res, 500);
    expect(res.text).not.toContain('secret internals');
  });

  it('a failure while answering a failure drops that one connection; the server keeps serving', async () => {
    overrideLifecycle(t, { userDeactivated: async () => { throw new Error('internal'); } });
    // The 500 path logs the failure: make the logger itself fail for this request.
    const logger = t.container.logger as unknown as { error: (...args: unknown[]) => void };
    const original = logger.error;
    logger.error = () => {
      throw new Error('logger down');
    };
    try {
      await expect(s.req('PATCH', `/Users/${userId}`, { body: { Operations: [{ op: 'replace', value: { active: false } }] } })).rejects.toThrow();
    } finally {
      logger.error = original;
    }
    const after = await s.req('GET', `/Users/${userId}`);
    expect(after.status).toBe(200);
    expect(after.body.active).toBe(true);
  });
});

describe('tenant isolation', () => {
  it("answers another directory's token with 401 and its resource ids with 404", async () => {
    const other = await createScimDirectory(t);
    const otherUser = (await other.req('POST', '/Users', { body: { userName: 'other@example.com' } })).body.id as string;
    // A's token on B's URL.
    expectScimError(await other.req('GET', '/Users', { token: s.token }), 401);
    expectScimError(await s.req('GET', `${other.base}/Users/${otherUser}`), 401);
    // B's resource id under A's URL with A's token.
    const before = await snapshot();
    expectScimError(await s.req('GET', `/Users/${otherUser}`), 404);
    expectScimError(await s.req('PATCH', `/Users/${otherUser}`, { body: { Operations: [{ op: 'replace', value: { active: false } }] } }), 404);
    expectScimError(await s.req('PUT', `/Users/${otherUser}`, { body: { userName: 'hijack@example.com' } }), 404);
    expectScimError(await s.req('DELETE', `/Users/${otherUser}`), 404);
    expect(await snapshot()).toBe(before);
    // Lists and filters never show the other directory's users.
    const list = await s.req('GET', `/Users?filter=${enc('userName eq "other@example.com"')}`);
    expect(list.body.totalResults).toBe(0);
    expect((await s.req('GET', '/Users')).body.totalResults).toBe(1);
    // A group in A cannot take B's user as a member.
    expectScimError(await s.req('POST', '/Groups', { body: { displayName: 'g', members: [{ value: otherUser }] } }), 400, 'invalidValue');
  });

  it('answers a missing or unknown token with 401 and WWW-Authenticate', async () => {
    const missing = await s.req('GET', '/Users', { token: null });
    expectScimError(missing, 401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expectScimError(await s.req('GET', '/Users', { token: 'osd_guess' }), 401);
  });
});

describe('per-directory rate limit', () => {
  it('answers 429 with Retry-After past RATE_LIMIT_SCIM_PER_MINUTE, for that directory only', async () => {
    await t.close();
    t = await startTestApp({ env: { RATE_LIMIT_SCIM_PER_MINUTE: '3' } });
    s = await createScimDirectory(t);
    const other = await createScimDirectory(t);
    for (let i = 0; i < 3; i++) expect((await s.req('GET', '/ServiceProviderConfig')).status).toBe(200);
    const limited = await s.req('GET', '/Users');
    expectScimError(limited, 429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect((await other.req('GET', '/Users')).status).toBe(200);
    // The counters live in the database (shared by instances).
    const rows = await t.container.db('rate_limits').where('bucket', `scim:${s.directoryId}`);
    expect(Number(rows[0].count)).toBe(4);
  });

  it("counts failed tokens against the caller's address (behind TRUST_PROXY, the forwarded one), never against the directory", async () => {
    const guess = (xff: string) => s.req('GET', '/Users', { token: 'osd_guess', headers: { 'x-forwarded-for': xff } });
    const bucketCount = async (bucket: string) => Number((await t.container.db('rate_limits').where({ bucket }).sum({ n: 'count' }))[0]?.n ?? 0);
    await t.close();
    t = await startTestApp({ env: { RATE_LIMIT_SCIM_PER_MINUTE: '3', TRUST_PROXY: 'loopback' } });
    s = await createScimDirectory(t);
    for (let i = 0; i < 3; i++) expectScimError(await guess('203.0.113.7'), 401);
    expectScimError(await guess('203.0.113.7'), 429);
    // Another client behind the proxy has its own budget; the directory's own requests are untouched.
    expectScimError(await guess('203.0.113.8'), 401);
    expect((await s.req('GET', '/Users')).status).toBe(200);
    expect(await bucketCount('scim-ip:203.0.113.7')).toBe(4);
    expect(await bucketCount(`scim:${s.directoryId}`)).toBe(1);

    // Without TRUST_PROXY the header is ignored: the budget is the connection's own address.
    await t.close();
    t = await startTestApp({ env: { RATE_LIMIT_SCIM_PER_MINUTE: '3' } });
    s = await createScimDirectory(t);
    for (let i = 0; i < 3; i++) expectScimError(await guess(`198.51.100.${i}`), 401);
    expectScimError(await guess('198.51.100.9'), 429);
    expect(await bucketCount('scim-ip:127.0.0.1')).toBe(4);
  });
});

describe('the SCIM mount', () => {
  it('answers under /scim only (in any letter case, or in absolute form), in SCIM errors, with the API security headers', async () => {
    const listed = await jsonRequest(`${t.url}/SCIM/v2/${s.directoryId}/Users`, 'GET', { authorization: `Bearer ${s.token}` });
    expect(listed.status).toBe(200);
    expect(listed.body.totalResults).toBe(1);
    expect(listed.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(listed.headers.get('cache-control')).toBe('no-store');
    expect(listed.headers.get('x-content-type-options')).toBe('nosniff');
    for (const path of ['/scim', '/scim/', '/scim/v2', `/scim/v2/${s.directoryId}/Nothing`]) {
      const res = await s.req('GET', path);
      expectScimError(res, 404);
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    }
    // A path that only starts with the same letters is not SCIM: the management API's 404.
    const notScim = await s.req('GET', `/scimx/v2/${s.directoryId}/Users`);
    expect(notScim.status).toBe(404);
    expect(notScim.headers.get('content-type')).toMatch(/^application\/json/);
    // The absolute form a proxy may send.
    const absolute = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(t.url, { method: 'GET', path: `${t.url}/scim/v2/${s.directoryId}/Users?count=1`, headers: { authorization: `Bearer ${s.token}` } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(absolute.status).toBe(200);
    expect(JSON.parse(absolute.text)).toMatchObject({ totalResults: 1, itemsPerPage: 1 });
  });
});
