import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { OidcTestOp, signInAtOp } from '../helpers/oidc-op.js';
import { Browser } from '../helpers/sso-browser.js';

/**
 * OIDC token endpoint authentication with the connection's own key (private_key_jwt, RFC 7523):
 * oidc-provider as the OP, with a client that authenticates only that way and reads the public keys
 * from the JWKS URL orgsync serves for the connection.
 */
let t: TestApp;
const ops: OidcTestOp[] = [];

beforeEach(async () => {
  t = await startTestApp();
});
afterEach(async () => {
  for (const op of ops.splice(0)) await op.stop();
  await t.close();
});

async function setup(name: string, domain: string, idp: Record<string, unknown>) {
  const op = new OidcTestOp();
  await op.start();
  ops.push(op);
  const res = await t.api('POST', '/api/v1/connections', { body: { name, type: 'oidc', domains: [domain], idp: { issuer: op.issuer, client_id: `orgsync-${name}`, ...idp } } });
  expect(res.status, res.text).toBe(201);
  op.accounts.set('u-1', { sub: 'u-1', email: `hank@${domain}`, email_verified: true, name: 'Hank Scorpio' });
  return { op, id: res.body.id as string, view: res.body };
}

const jwks = async (id: string) => (await (await fetch(`${t.url}/sso/oidc/${id}/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };

async function signIn(id: string) {
  const browser = new Browser();
  const page = await signInAtOp(browser, `${t.url}/sso/oidc/${id}/login?return_to=/account`, 'u-1');
  const me = await browser.request('GET', `${t.url}/api/v1/me`);
  return { page, me: me.status === 200 ? JSON.parse(me.text) : null };
}

describe('OIDC private_key_jwt', () => {
  it('signs in with a client that accepts only private_key_jwt and reads our JWKS URL; after a rotation and a retirement too', async () => {
    const a = await setup('globex-pkjwt', 'globex.com', { token_endpoint_auth_method: 'private_key_jwt' });
    expect(a.view.idp.client_secret_set).toBe(false);
    expect(a.view.idp.token_endpoint_auth_method).toBe('private_key_jwt');
    expect(a.view.sp.jwks_uri).toBe(`${t.url}/sso/oidc/${a.id}/jwks.json`);
    const published = await jwks(a.id);
    expect(published.keys).toHaveLength(1);
    expect(published.keys[0]).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256' });
    expect(Object.keys(published.keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);

    a.op.configure({ client_id: 'orgsync-globex-pkjwt', redirect_uris: [a.view.sp.redirect_uri], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: a.view.sp.jwks_uri });
    const first = await signIn(a.id);
    expect(first.page.url).toBe(`${t.url}/account`);
    expect(first.me.user.email).toBe('hank@globex.com');

    const rotated = await t.api('POST', `/api/v1/connections/${a.id}/sp-keys/rotate`, { body: { use: 'signing' } });
    expect(rotated.status, rotated.text).toBe(200);
    const during = await jwks(a.id);
    expect(during.keys).toHaveLength(2);
    const current = rotated.body.sp_keys.find((k: { status: string }) => k.status === 'current');
    expect(during.keys[0]!.kid).toBe(current.kid);
    // The previous key still signs: the OP's cached JWKS (oidc-provider keeps one at least a minute) still vouches for it.
    expect((await signIn(a.id)).me?.user.email).toBe('hank@globex.com');
    // Some time into the overlap the OP reads our JWKS again (a fresh OP instance here) and learns the new key.
    a.op.configure({ client_id: 'orgsync-globex-pkjwt', redirect_uris: [a.view.sp.redirect_uri], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: a.view.sp.jwks_uri });
    expect((await signIn(a.id)).me?.user.email).toBe('hank@globex.com');

    // Retired: the new key signs, and the OP's cached JWKS already holds it.
    expect((await t.api('POST', `/api/v1/connections/${a.id}/sp-keys/retire`, { body: {} })).status).toBe(200);
    expect((await jwks(a.id)).keys.map((k) => k.kid)).toEqual([current.kid]);
    expect((await signIn(a.id)).me?.user.email).toBe('hank@globex.com');
  });

  it('chooses private_key_jwt when discovery offers only it, and the connection test says so', async () => {
    const a = await setup('globex-only-pkjwt', 'globex-only.com', { client_secret: 'never-sent-0123456789' });
    a.op.configure({ client_id: 'orgsync-globex-only-pkjwt', redirect_uris: [a.view.sp.redirect_uri], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: a.view.sp.jwks_uri }, { clientAuthMethods: ['private_key_jwt'] });
    const report = await t.api('POST', `/api/v1/connections/${a.id}/test`);
    expect(report.body.checks.find((c: { check: string }) => c.check === 'token_endpoint_auth')).toMatchObject({ ok: true, message: expect.stringContaining('private_key_jwt') });
    expect((await signIn(a.id)).me?.user.email).toBe('hank@globex-only.com');
  });

  it("refuses a client secret-less connection that does not use private_key_jwt; another connection's JWKS does not vouch for this one", async () => {
    const bad = await t.api('POST', '/api/v1/connections', { body: { name: 'no-secret', type: 'oidc', domains: ['nosecret.com'], idp: { issuer: 'http://127.0.0.1:9/', client_id: 'x' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('idp.client_secret');

    const a = await setup('tenant-a-oidc', 'tenant-a.com', { token_endpoint_auth_method: 'private_key_jwt' });
    const b = await setup('tenant-b-oidc', 'tenant-b.com', { token_endpoint_auth_method: 'private_key_jwt' });
    const aKids = (await jwks(a.id)).keys.map((k) => k.kid);
    expect((await jwks(b.id)).keys.some((k) => aKids.includes(k.kid))).toBe(false);
    // A's OP client registered with B's JWKS: A's assertions are signed with A's key, so the OP refuses them.
    a.op.configure({ client_id: 'orgsync-tenant-a-oidc', redirect_uris: [a.view.sp.redirect_uri], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: b.view.sp.jwks_uri });
    const refused = await signIn(a.id);
    expect(refused.me).toBeNull();
    expect(refused.page.status).toBe(400);
    expect(refused.page.text).toContain('invalid_client');
    // The JWKS of a SAML connection or an unknown one is not served.
    expect((await fetch(`${t.url}/sso/oidc/00000000-0000-7000-8000-000000000000/jwks.json`)).status).toBe(404);
  });
});
