import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs } from '../helpers/sso-setup.js';
import { OidcTestOp } from '../helpers/oidc-op.js';
import { Browser, type Hop } from '../helpers/sso-browser.js';

/** OIDC attack cases of issue 9 beyond sso-oidc.test.ts: code replay, iss mismatch, open redirects. */
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
