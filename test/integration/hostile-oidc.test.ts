import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs } from '../helpers/sso-setup.js';
import { OidcTestOp } from '../helpers/oidc-op.js';
import { Browser, type Hop } from '../helpers/sso-browser.js';

/**
 * OIDC attack cases of issue 9 beyond sso-oidc.test.ts (which has the unverified-email link attempt
 * and a forged state with a made-up code): code replay, iss mismatch, state mismatch with a real
 * code, ID tokens with a wrong nonce or aud (genuinely signed by the OP), open redirects.
 */
let t: TestApp;
let op: OidcTestOp;
let connId: string;

beforeEach(async () => {
  t = await startTestApp();
  await createOrgs(t, 'globex');
  op = new OidcTestOp();
  await op.start();
  const res = await t.api('POST', '/api/v1/connections', {
    body: { name: 'globex-oidc', type: 'oidc', domains: ['globex.com'], idp: { issuer: op.issuer, client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789' }, membership_rules: [{ organization: 'globex', role: 'member' }] },
  });
  expect(res.status).toBe(201);
  connId = res.body.id;
  op.configure({ client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789', redirect_uris: [res.body.sp.redirect_uri] });
  op.accounts.set('u-1', { sub: 'u-1', email: 'hank@globex.com', email_verified: true, name: 'Hank Scorpio', groups: [] });
});
afterEach(async () => {
  await op.stop();
  await t.close();
});

/** Signs in at the OP and stops at the redirect back to our callback, returning its URL unvisited. */
async function callbackUrl(browser: Browser, returnTo = ''): Promise<string> {
  let hop: Hop = await browser.request('GET', `${t.url}/sso/oidc/${connId}/login${returnTo ? `?return_to=${encodeURIComponent(returnTo)}` : ''}`);
  for (let i = 0; i < 20; i++) {
    const location = hop.headers.get('location');
    if (hop.status >= 300 && hop.status < 400 && location) {
      const next = new URL(location, hop.url).href;
      if (next.startsWith(`${t.url}/sso/oidc/${connId}/callback`)) return next;
      hop = await browser.request('GET', next);
      continue;
    }
    const form = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(hop.text);
    if (hop.status !== 200 || !form) break;
    const fields: Record<string, string> = {};
    for (const m of hop.text.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) fields[m[1]!] = m[2]!;
    if (/name="login"/.test(hop.text)) Object.assign(fields, { login: 'u-1', password: 'any-password' });
    hop = await browser.request('POST', new URL(form[1]!, hop.url).href, { body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
  throw new Error(`never reached the callback: ${hop.status} ${hop.text.slice(0, 200)}`);
}

const json = { accept: 'application/json' };

/** Why each refused sign-in was refused, as the server logs it (the page only shows the reason code). */
function refusals(): string[] {
  const info = vi.spyOn(t.container.logger, 'info');
  const whys: string[] = [];
  info.mockImplementation(((obj: unknown) => {
    const why = (obj as { detail?: { why?: unknown } } | undefined)?.detail?.why;
    if (typeof why === 'string') whys.push(why);
  }) as never);
  return whys;
}

/**
 * Opens a callback URL and checks it was refused the way every SSO failure is, with nobody signed
 * in: no identity or user, no signed-in session (a sign-in would issue a new session id), /me 401.
 */
async function expectRefused(browser: Browser, callback: string): Promise<void> {
  const before = browser.cookie(t.url, 'orgsync.sid');
  const res = await browser.request('GET', callback, { headers: json });
  expect(res.status, res.text).toBe(400);
  expect(JSON.parse(res.text)).toMatchObject({ statusCode: 400, errorCode: 'invalid_response', reason: 'invalid_response' });
  expect(browser.cookie(t.url, 'orgsync.sid')).toBe(before);
  expect(await t.container.db('sessions').whereNotNull('user_id')).toHaveLength(0);
  expect(await t.container.db('identities')).toHaveLength(0);
  expect(await t.container.db('users')).toHaveLength(0);
  expect(await t.container.db('audit_events').where({ action: 'login.succeeded' })).toHaveLength(0);
  expect((await browser.request('GET', `${t.url}/api/v1/me`)).status).toBe(401);
}

describe('OIDC callbacks that must be refused', () => {
  it('code replay: the same callback a second time → 400, one sign-in only', async () => {
    const browser = new Browser();
    const cb = await callbackUrl(browser);
    const first = await browser.request('GET', cb);
    expect(first.status).toBe(303);
    const again = await browser.request('GET', cb, { headers: json });
    expect(again.status).toBe(400);
    expect(JSON.parse(again.text).reason).toBe('invalid_response');
    // Replayed from another browser (an attacker who saw the URL): refused too.
    const stolen = await new Browser().request('GET', cb, { headers: json });
    expect(stolen.status).toBe(400);
    expect(await t.container.db('audit_events').where({ action: 'login.succeeded' })).toHaveLength(1);
  });

  it('iss mismatch (RFC 9207): a callback naming another issuer → 400, nobody signed in', async () => {
    const browser = new Browser();
    const cb = new URL(await callbackUrl(browser));
    expect(cb.searchParams.get('iss')).toBe(op.issuer);
    cb.searchParams.set('iss', 'https://attacker.example');
    const res = await browser.request('GET', cb.href, { headers: json });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).reason).toBe('invalid_response');
    expect(await t.container.db('identities')).toHaveLength(0);
    expect((await browser.request('GET', `${t.url}/api/v1/me`)).status).toBe(401);
  });

  it('state mismatch: a real code with another state → 400, nobody signed in', async () => {
    // Same browser, a code the OP really issued and the right PKCE verifier: only the state is off,
    // so this is refused by the state check alone.
    const whys = refusals();
    const browser = new Browser();
    const cb = new URL(await callbackUrl(browser));
    const state = cb.searchParams.get('state')!;
    expect(state).toBeTruthy();
    cb.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
    await expectRefused(browser, cb.href);

    const missing = new Browser();
    const noState = new URL(await callbackUrl(missing));
    noState.searchParams.delete('state');
    await expectRefused(missing, noState.href);
    expect(whys).toHaveLength(2);
    for (const w of whys) expect(w).toMatch(/"state"/);
  });

  it('login CSRF: an attacker’s own callback URL opened in the victim’s browser → 400, victim not signed in as the attacker', async () => {
    const attacker = new Browser();
    const attackersCallback = await callbackUrl(attacker);
    const victim = new Browser();
    await victim.request('GET', `${t.url}/sso/oidc/${connId}/login`); // the victim has a sign-in of their own in progress
    await expectRefused(victim, attackersCallback);
  });

  it('control: an ID token re-signed by the test OP with its claims unchanged is accepted', async () => {
    // Proves the tampering harness itself yields tokens our callback trusts, so the refusals below
    // are caused by the one claim each changes.
    let seen: Record<string, unknown> | undefined;
    op.tamperIdToken = (claims) => (seen = claims);
    const browser = new Browser();
    const done = await browser.request('GET', await callbackUrl(browser));
    expect(done.status, done.text).toBe(303);
    expect(seen).toMatchObject({ sub: 'u-1', aud: 'orgsync-test', iss: op.issuer });
    expect(seen!.nonce).toEqual(expect.any(String));
    expect((await browser.request('GET', `${t.url}/api/v1/me`)).status).toBe(200);
  });

  const tampered: Array<[string, (claims: Record<string, unknown>) => Record<string, unknown>, RegExp]> = [
    ['nonce mismatch: the ID token carries another nonce', (c) => ({ ...c, nonce: `attacker-${String(c.nonce)}` }), /"nonce"/],
    ['nonce missing: the ID token carries no nonce', ({ nonce: _nonce, ...c }) => c, /"nonce"/],
    ['aud mismatch: the ID token was issued to another client', (c) => ({ ...c, aud: 'another-client' }), /"aud"/],
    ['aud mismatch: our client id only as a prefix of the audience', (c) => ({ ...c, aud: 'orgsync-test-evil' }), /"aud"/],
    ['aud mismatch: the audience list does not name us', (c) => ({ ...c, aud: ['another-client', 'third-client'] }), /"aud"/],
  ];
  for (const [name, tamper, why] of tampered) {
    it(`${name} (signed by the OP's own key) → 400 invalid_response, nobody signed in`, async () => {
      let changed = false;
      op.tamperIdToken = (claims) => {
        changed = true;
        return tamper(claims);
      };
      const whys = refusals();
      const browser = new Browser();
      const cb = await callbackUrl(browser);
      await expectRefused(browser, cb);
      expect(changed).toBe(true);
      expect(whys).toHaveLength(1);
      expect(whys[0]).toMatch(why);
    });
  }

  it('return_to open-redirect attempts land on /account', async () => {
    for (const returnTo of ['https://evil.example/', '//evil.example/x', '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)', '/%2F%2Fevil.example']) {
      const browser = new Browser();
      const done = await browser.request('GET', await callbackUrl(browser, returnTo));
      expect(done.status, returnTo).toBe(303);
      const location = new URL(done.headers.get('location')!, t.url);
      expect(location.origin, returnTo).toBe(t.url);
      expect(location.host, returnTo).not.toContain('evil');
    }
  });
});
