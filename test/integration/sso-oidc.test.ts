import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs } from '../helpers/sso-setup.js';
import { OidcTestOp, signInAtOp } from '../helpers/oidc-op.js';
import { Browser } from '../helpers/sso-browser.js';

let t: TestApp;
let op: OidcTestOp;
let connId: string;
let orgs: Record<string, string>;

beforeEach(async () => {
  t = await startTestApp();
  orgs = await createOrgs(t, 'globex', 'globex-admins', 'unrelated');
  op = new OidcTestOp();
  await op.start();
  const res = await t.api('POST', '/api/v1/connections', {
    body: {
      name: 'globex-oidc',
      type: 'oidc',
      domains: ['globex.com'],
      idp: { issuer: op.issuer, client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789', scopes: ['openid', 'email', 'profile', 'groups'] },
      membership_rules: [
        { organization: 'globex', role: 'member' },
        { organization: 'globex-admins', role: 'admin', groups: ['it-admins'] },
      ],
    },
  });
  expect(res.status).toBe(201);
  connId = res.body.id;
  op.configure({ client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789', redirect_uris: [res.body.sp.redirect_uri] });
  op.accounts.set('u-1', { sub: 'u-1', email: 'hank@globex.com', email_verified: true, name: 'Hank Scorpio', groups: ['it-admins'] });
});
afterEach(async () => {
  await op.stop();
  await t.close();
});

describe('OIDC sign-in through an independent OpenID Provider', () => {
  it('runs code + PKCE + state + nonce end to end and syncs memberships', async () => {
    const browser = new Browser();
    const login = await browser.request('GET', `${t.url}/sso/oidc/${connId}/login?return_to=/account`);
    expect(login.status).toBe(302);
    const authorize = new URL(login.headers.get('location')!);
    expect(authorize.origin).toBe(op.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('nonce')).toBeTruthy();

    const page = await signInAtOp(browser, `${t.url}/sso/oidc/${connId}/login?return_to=/account`, 'u-1');
    expect(page.url).toBe(`${t.url}/account`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Hank Scorpio');
    const me = JSON.parse((await browser.request('GET', `${t.url}/api/v1/me`)).text);
    expect(me.organizations.map((o: { name: string; role: string }) => `${o.name}:${o.role}`)).toEqual(['globex:member', 'globex-admins:admin']);
    expect((await t.container.db('identities').where({ connection_id: connId }).first()).subject).toBe('u-1');
  });

  it('refuses a forged state and a callback with no sign-in in progress', async () => {
    const browser = new Browser();
    const start = await browser.request('GET', `${t.url}/sso/oidc/${connId}/login`);
    const state = new URL(start.headers.get('location')!).searchParams.get('state');
    const forged = await browser.request('GET', `${t.url}/sso/oidc/${connId}/callback?code=abc&state=not-${state}&iss=${encodeURIComponent(op.issuer)}`, { headers: { accept: 'application/json' } });
    expect(forged.status).toBe(400);
    expect(JSON.parse(forged.text).reason).toBe('invalid_response');
    const noSession = await new Browser().request('GET', `${t.url}/sso/oidc/${connId}/callback?code=abc&state=x`, { headers: { accept: 'application/json' } });
    expect(JSON.parse(noSession.text).reason).toBe('invalid_response');
  });

  it('does not link an existing account by an unverified email, and denies other domains', async () => {
    await t.container.db('users').insert({ id: '00000000-0000-7000-8000-00000000000a', email: 'hank@globex.com', email_lower: 'hank@globex.com', active: true, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' });
    op.accounts.set('u-1', { sub: 'u-1', email: 'hank@globex.com', email_verified: false, groups: [] });
    const page = await signInAtOp(new Browser(), `${t.url}/sso/oidc/${connId}/login`, 'u-1');
    expect(page.status).toBe(200);
    const identity = await t.container.db('identities').where({ connection_id: connId, subject: 'u-1' }).first();
    expect(identity.user_id).not.toBe('00000000-0000-7000-8000-00000000000a');

    op.accounts.set('u-2', { sub: 'u-2', email: 'hank@verified-elsewhere.com', email_verified: true });
    const denied = await signInAtOp(new Browser(), `${t.url}/sso/oidc/${connId}/login`, 'u-2');
    expect(denied.status).toBe(403);
    expect(denied.text).toContain('email_domain_not_verified');
  });

  it('links an existing account by a verified email', async () => {
    await t.container.db('users').insert({ id: '00000000-0000-7000-8000-00000000000b', email: 'Hank@Globex.com', email_lower: 'hank@globex.com', active: true, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' });
    const page = await signInAtOp(new Browser(), `${t.url}/sso/oidc/${connId}/login`, 'u-1');
    expect(page.status).toBe(200);
    expect((await t.container.db('identities').where({ subject: 'u-1' }).first()).user_id).toBe('00000000-0000-7000-8000-00000000000b');
    expect(await t.container.db('memberships').where({ user_id: '00000000-0000-7000-8000-00000000000b', organization_id: orgs.globex })).toHaveLength(1);
  });
});
