import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs } from '../helpers/sso-setup.js';
import { OidcTestOp, signInAtOp } from '../helpers/oidc-op.js';
import { Browser } from '../helpers/sso-browser.js';
import { Writable } from 'node:stream';
import type { Container } from '../../src/container.js';
import { createLogger } from '../../src/platform/logger.js';

/**
 * What an OP says when a sign-in goes wrong reaches the person and the IT admin: a refusal at the
 * OP, the token endpoint's own OAuth error, an issuer spelled differently from the one the OP
 * publishes. Claims the ID token lacks are read from userinfo.
 */
let t: TestApp;
let op: OidcTestOp;
let connId: string;
const json = { headers: { accept: 'application/json' } };

beforeEach(async () => {
  t = await startTestApp();
  await createOrgs(t, 'globex', 'globex-admins');
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
  expect(res.status, res.text).toBe(201);
  connId = res.body.id;
  op.configure({ client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789', redirect_uris: [res.body.sp.redirect_uri] });
  op.accounts.set('u-1', { sub: 'u-1', email: 'hank@globex.com', email_verified: true, name: 'Hank Scorpio', groups: ['it-admins'] });
});
afterEach(async () => {
  await op.stop();
  await t.close();
});

async function started(): Promise<{ browser: Browser; state: string }> {
  const browser = new Browser();
  const start = await browser.request('GET', `${t.url}/sso/oidc/${connId}/login`);
  return { browser, state: new URL(start.headers.get('location')!).searchParams.get('state')! };
}

describe('OIDC errors and claims from real OPs', () => {
  it('error=access_denied on the callback is its own reason with a plain message, nobody signed in', async () => {
    const { browser, state } = await started();
    const res = await browser.request('GET', `${t.url}/sso/oidc/${connId}/callback?error=access_denied&error_description=User+declined&state=${state}&iss=${encodeURIComponent(op.issuer)}`, json);
    expect(res.status).toBe(403);
    const body = JSON.parse(res.text);
    expect(body.reason).toBe('access_denied');
    expect(body.message).toMatch(/refused at your identity provider/);
    expect((await browser.request('GET', `${t.url}/api/v1/me`)).status).toBe(401);
    const page = await (await started()).browser.request('GET', `${t.url}/sso/oidc/${connId}/callback?error=access_denied&state=x`);
    expect(page.status).toBe(400);
  });

  it("the token endpoint's OAuth error is shown with its code, not as invalid_response", async () => {
    const { browser, state } = await started();
    const res = await browser.request('GET', `${t.url}/sso/oidc/${connId}/callback?code=not-a-code-the-op-issued&state=${state}&iss=${encodeURIComponent(op.issuer)}`, json);
    expect(res.status).toBe(400);
    const body = JSON.parse(res.text);
    expect(body.reason).toBe('idp_error');
    expect(body.message).toContain('invalid_grant');
    const page = await (await started()).browser.request('GET', `${t.url}/sso/oidc/${connId}/callback?code=x&state=y`);
    expect(page.text).not.toContain('op-client-secret');
  });

  it('an issuer spelled differently (localhost for 127.0.0.1) is refused when set, and at sign-in named as a mismatch, not "could not be reached"', async () => {
    const alias = op.issuer.replace('127.0.0.1', 'localhost');
    const patched = await t.api('PATCH', `/api/v1/connections/${connId}`, { body: { idp: { issuer: alias, client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789' } } });
    expect(patched.status).toBe(400);
    expect(patched.body.message).toContain(`publishes the issuer "${op.issuer}"`);
    // The OP's published issuer changed after the connection was set up: sign-in says so.
    const row = await t.container.db('connections').where({ id: connId }).first();
    await t.container.db('connections').where({ id: connId }).update({ idp: JSON.stringify({ ...JSON.parse(row.idp), issuer: alias }), updated_at: new Date(Date.now() + 1000).toISOString() });
    const res = await new Browser().request('GET', `${t.url}/sso/oidc/${connId}/login`, json);
    expect(res.status).toBe(502);
    const body = JSON.parse(res.text);
    expect(body.reason).toBe('idp_issuer_mismatch');
    expect(body.message).toContain(`"${op.issuer}"`);
    // Control: an OP that does not answer at all is still "could not be reached", and may be set (it may not be up yet).
    await op.stop();
    const down = await t.api('PATCH', `/api/v1/connections/${connId}`, { body: { idp: { issuer: op.issuer, client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789' } } });
    expect(down.status, down.text).toBe(200);
    const unreachable = await new Browser().request('GET', `${t.url}/sso/oidc/${connId}/login`, json);
    expect(JSON.parse(unreachable.text).reason).toBe('idp_unavailable');
  });

  it('groups missing from the ID token are read from userinfo (the email being there is not enough)', async () => {
    op.tamperIdToken = (claims) => {
      const { groups: _groups, ...rest } = claims;
      return rest;
    };
    const browser = new Browser();
    const page = await signInAtOp(browser, `${t.url}/sso/oidc/${connId}/login`, 'u-1');
    expect(page.url).toBe(`${t.url}/account`);
    const me = JSON.parse((await browser.request('GET', `${t.url}/api/v1/me`)).text);
    expect(me.user.email).toBe('hank@globex.com');
    expect(me.organizations.map((o: { name: string; role: string }) => `${o.name}:${o.role}`)).toEqual(['globex:member', 'globex-admins:admin']);
  });
});

describe('checking an OP when a connection is set up, and on demand', () => {
  it('refuses to create a connection whose OP publishes another issuer; accepts one that is not up yet', async () => {
    const alias = op.issuer.replace('127.0.0.1', 'localhost');
    const refused = await t.api('POST', '/api/v1/connections', { body: { name: 'alias', type: 'oidc', domains: ['alias.example'], idp: { issuer: alias, client_id: 'c', client_secret: 'client-secret-0123456789' } } });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/discovery document cannot be used.*issuer/);
    const later = await t.api('POST', '/api/v1/connections', { body: { name: 'later', type: 'oidc', domains: ['later.example'], idp: { issuer: 'http://127.0.0.1:9/realms/acme', client_id: 'c', client_secret: 'client-secret-0123456789' } } });
    expect(later.status, later.text).toBe(201);
  });

  it('POST /connections/{id}/test reports each check; an unreachable OP is reported, not thrown; narrow keys are refused', async () => {
    const res = await t.api('POST', `/api/v1/connections/${connId}/test`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ connection_id: connId, reached: true, ok: true });
    expect(res.body.checks.map((c: { check: string; ok: boolean }) => `${c.check}:${c.ok}`)).toEqual(['discovery:true', 'issuer:true', 'endpoints:true', 'algorithms:true', 'response_type:true', 'token_endpoint_auth:true', 'jwks:true']);
    expect(JSON.stringify(res.body)).not.toContain('op-client-secret');
    expect((await t.api('POST', `/api/v1/connections/${connId}/test`, { key: await t.keyWith('read:organizations') })).status).toBe(403);
    expect((await t.api('POST', `/api/v1/connections/${connId}/test`, { key: null })).status).toBe(401);
    await op.stop();
    const down = await t.api('POST', `/api/v1/connections/globex-oidc/test`);
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ reached: false, ok: false });
    expect(down.body.checks[0].message).toMatch(/Could not read .*openid-configuration/);
  });
});

describe('the sign-in error page', () => {
  /** The server's log lines from here on, as JSON objects. */
  function captureLog(): Array<Record<string, unknown>> {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(...chunk.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)), done()) });
    (t.container as { logger: Container['logger'] }).logger = createLogger('info', sink);
    return lines;
  }

  it('explains the failure, says what the IT admin can change, and gives a reference that finds the log line', async () => {
    const log = captureLog();
    const { browser, state } = await started();
    const res = await browser.request('GET', `${t.url}/sso/oidc/${connId}/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(op.issuer)}`);
    expect(res.status).toBe(403);
    expect(res.text).toContain('For your IT admin');
    expect(res.text).toContain('Assign this person');
    const ref = /Reference: <code>([0-9a-f]{10})<\/code>/.exec(res.text)?.[1];
    expect(ref).toBeTruthy();
    expect(log.filter((l) => l.ref === ref)).toMatchObject([{ reason: 'access_denied', msg: 'sign-in refused' }]);

    // The JSON answer carries a reference too; the check that failed is on the log line it finds.
    const stale = await new Browser().request('GET', `${t.url}/sso/oidc/${connId}/callback?code=abc&state=x`, json);
    const body = JSON.parse(stale.text);
    expect(body).toMatchObject({ reason: 'invalid_response' });
    expect(body.admin_hint).toMatch(/identity provider settings/);
    expect(log.filter((l) => l.ref === body.ref)).toHaveLength(1);
    expect(JSON.stringify(log.find((l) => l.ref === body.ref)?.detail)).toMatch(/sign-in in progress|state|pending|cookie/i);
    expect(stale.text).not.toContain('op-client-secret');
  });

  it("shows no detail of this server's network when the OP cannot be reached", async () => {
    const log = captureLog();
    await op.stop();
    const res = await new Browser().request('GET', `${t.url}/sso/oidc/${connId}/login`);
    expect(res.status).toBe(502);
    expect(res.text).toContain('orgsync connection test NAME');
    expect(res.text).not.toMatch(/ECONNREFUSED|fetch failed|Details:/);
    const ref = /Reference: <code>([0-9a-f]{10})<\/code>/.exec(res.text)?.[1];
    expect(log.find((l) => l.ref === ref)).toMatchObject({ reason: 'idp_unavailable', msg: 'sso request failed' });
  });
});
