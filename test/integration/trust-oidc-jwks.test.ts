import { createHmac, createSign, generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs } from '../helpers/sso-setup.js';
import { OidcTestOp, signInAtOp } from '../helpers/oidc-op.js';
import { Browser } from '../helpers/sso-browser.js';

/**
 * Tenant trust (issue on tenant trust item 7): an ID token is believed only when the OP's published
 * keys (jwks_uri) verify it. A token the OP never signed (another key, even under the OP's own kid;
 * `alg: none`; HS256 keyed with the client secret while the OP publishes RS256) must not sign anyone
 * in to customer A, whatever claims it carries.
 */
const SECRET = 'op-client-secret-0123456789';
let t: TestApp;
let op: OidcTestOp;
let connId: string;

beforeEach(async () => {
  t = await startTestApp();
  await createOrgs(t, 'acme');
  op = new OidcTestOp();
  await op.start();
  const res = await t.api('POST', '/api/v1/connections', {
    body: { name: 'acme-oidc', type: 'oidc', domains: ['acme.com'], idp: { issuer: op.issuer, client_id: 'orgsync-acme', client_secret: SECRET }, membership_rules: [{ organization: 'acme', role: 'owner' }] },
  });
  expect(res.status).toBe(201);
  connId = res.body.id;
  op.configure({ client_id: 'orgsync-acme', client_secret: SECRET, redirect_uris: [res.body.sp.redirect_uri] });
  op.accounts.set('u-1', { sub: 'u-1', email: 'ann@acme.com', email_verified: true, name: 'Ann' });
});
afterEach(async () => {
  await op.stop();
  await t.close();
});

const parts = (jwt: string) => {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, unknown>, claims: JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown> };
};
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const attackerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

/** The genuine token's claims (right iss, aud, nonce, exp), under a header and signature the OP never made. */
const FORGERIES: Record<string, (genuine: string) => string> = {
  'RS256 by another key under the OP kid': (jwt) => {
    const { header, claims } = parts(jwt);
    const input = `${b64(header)}.${b64({ ...claims, email: 'ann@acme.com' })}`;
    return `${input}.${createSign('RSA-SHA256').update(input).sign(attackerKey).toString('base64url')}`;
  },
  'RS256 by another key with its own kid': (jwt) => {
    const { claims } = parts(jwt);
    const input = `${b64({ alg: 'RS256', kid: 'attacker', typ: 'JWT' })}.${b64(claims)}`;
    return `${input}.${createSign('RSA-SHA256').update(input).sign(attackerKey).toString('base64url')}`;
  },
  'alg none': (jwt) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(parts(jwt).claims)}.`,
  'HS256 keyed with the client secret': (jwt) => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(parts(jwt).claims)}`;
    return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
  },
};

describe('ID tokens are verified against the OP JWKS', () => {
  it('refuses every token the OP did not sign with a key it publishes, and signs nobody in', async () => {
    const whys: string[] = [];
    vi.spyOn(t.container.logger, 'info').mockImplementation(((obj: { detail?: { why?: string } } | undefined) => {
      if (obj?.detail?.why) whys.push(obj.detail.why);
    }) as never);
    const outcomes: string[] = [];
    for (const [name, forge] of Object.entries(FORGERIES)) {
      op.replaceIdToken = forge;
      const browser = new Browser();
      const page = await signInAtOp(browser, `${t.url}/sso/oidc/${connId}/login`, 'u-1', { headers: { accept: 'application/json' } });
      const me = await browser.request('GET', `${t.url}/api/v1/me`);
      let reason = '';
      try {
        reason = (JSON.parse(page.text) as { reason?: string }).reason ?? '';
      } catch {
        reason = `not JSON (${page.status})`;
      }
      outcomes.push(`${name}: ${page.status} ${reason} me=${me.status}`);
    }
    expect(outcomes).toEqual(Object.keys(FORGERIES).map((name) => `${name}: 400 invalid_response me=401`));
    expect(whys).toHaveLength(Object.keys(FORGERIES).length);
    expect(await t.container.db('users')).toHaveLength(0);
    expect(await t.container.db('identities')).toHaveLength(0);
    expect(await t.container.db('audit_events').where({ action: 'login.succeeded' })).toHaveLength(0);

    // The OP's own signature is accepted: the refusals above are about the signature alone.
    op.replaceIdToken = undefined;
    const browser = new Browser();
    await signInAtOp(browser, `${t.url}/sso/oidc/${connId}/login`, 'u-1');
    const me = await browser.request('GET', `${t.url}/api/v1/me`);
    expect(me.status).toBe(200);
    expect(JSON.parse(me.text).organizations).toMatchObject([{ name: 'acme', role: 'owner' }]);
  });
});
