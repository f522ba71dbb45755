import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, postSamlResponse, requestIdOf, samlConnection, samlLogin, startSamlLogin } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';
import { Browser } from '../helpers/sso-browser.js';

let t: TestApp;
/** The browser that starts sign-ins and posts the IdP's responses (it holds the pre-login cookies). */
let browser: Browser;
let conn: { idp: SamlTestIdp; id: string; acsUrl: string; spEntityId: string };
let orgs: Record<string, string>;

beforeEach(async () => {
  browser = new Browser();
  t = await startTestApp();
  orgs = await createOrgs(t, 'acme', 'acme-eng', 'acme-ops');
  conn = await samlConnection(t, {
    membership_rules: [
      { organization: 'acme', role: 'member' },
      { organization: 'acme-eng', role: 'member', groups: ['Engineering'] },
      { organization: 'acme-eng', role: 'owner', groups: ['eng-leads'] },
      { organization: 'acme-ops', role: 'admin', groups: ['Ops'] },
    ],
  });
});
afterEach(async () => {
  await conn.idp.stop();
  await t.close();
});

const alice = { nameId: 'alice@acme.com', email: 'alice@acme.com', groups: ['Engineering', 'eng-leads'] };

/** An AuthnRequest id this service issued, started in `browser` (as SP-initiated login does). */
async function issuedRequestId(): Promise<string> {
  const res = await browser.request('GET', `${t.url}/sso/saml/${conn.id}/login`);
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toMatch(new RegExp(`^${conn.idp.ssoUrl}\\?SAMLRequest=`));
  return requestIdOf(res.headers.get('location')!);
}

/** The IdP's form posted from `browser`, then the continuation it is sent to: the last answer. */
async function postAcs(samlResponse: string, json = true) {
  const { final } = await postSamlResponse(browser, conn.acsUrl, samlResponse, { json });
  return { status: final.status, text: final.text, body: json && final.text ? JSON.parse(final.text) : undefined, headers: final.headers };
}

describe('SAML sign-in through an independent IdP', () => {
  it('serves SP metadata with our entity id and ACS URL', async () => {
    const res = await fetch(`${t.url}/sso/saml/${conn.id}/metadata`);
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toContain(`entityID="${conn.spEntityId}"`);
    expect(xml).toContain(`Location="${conn.acsUrl}"`);
  });

  it('signs in over the full browser flow, syncs memberships across organizations and roles, and lands on return_to', async () => {
    const { browser, page, me } = await samlLogin(t, conn, alice, '/account?welcome=1');
    expect(page.url).toBe(`${t.url}/account?welcome=1`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('alice@acme.com');
    expect(page.text).toMatch(/Added to acme-eng as owner/);
    const cookie = browser.cookie(t.url, 'orgsync.sid');
    expect(cookie).toBeTruthy();
    expect(me.user.email).toBe('alice@acme.com');
    expect(me.organizations.map((o: { name: string; role: string }) => `${o.name}:${o.role}`)).toEqual(['acme:member', 'acme-eng:owner']);
    expect(me.flagged).toEqual([]);
    expect(me.last_sync_run).toMatchObject({ trigger: 'login', connection_id: conn.id, flagged: [], skipped: [], error: null });
    expect(me.last_sync_run.added).toEqual(expect.arrayContaining([{ organization_id: orgs.acme, role: 'member' }, { organization_id: orgs['acme-eng'], role: 'owner' }]));

    const audit = (await t.api('GET', '/api/v1/audit-logs?action=login.succeeded')).body.audit_logs;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: { type: 'login', id: conn.id }, detail: { added: 2, protocol: 'saml' } });
    const added = await t.container.db('events').where({ type: 'membership.added' });
    expect(added).toHaveLength(2);
    const identity = await t.container.db('identities').where({ connection_id: conn.id }).first();
    expect(identity).toMatchObject({ subject: 'alice@acme.com', external_id: 'alice@acme.com' });
  });

  it('sets an HttpOnly SameSite=Lax session cookie, and logout checks Origin', async () => {
    const { browser: signedIn } = await samlLogin(t, conn, alice);
    // Cookie attributes as the continuation after the ACS sets them:
    const requestId = await issuedRequestId();
    const { samlResponse } = conn.idp.scenario('valid.response-signed', { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId, user: alice });
    const res = await postAcs(samlResponse, false);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account');
    const setCookie = res.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(/orgsync\.sid=.*HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).not.toMatch(/Secure/);

    const foreign = await signedIn.request('POST', `${t.url}/logout`, { headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    expect((await signedIn.request('GET', `${t.url}/api/v1/me`)).status).toBe(200);
    const out = await signedIn.request('POST', `${t.url}/logout`, { headers: { origin: new URL(t.url).origin } });
    expect(out.status).toBe(303);
    const after = await signedIn.request('GET', `${t.url}/api/v1/me`);
    expect(after.status).toBe(401);
    expect(JSON.parse(after.text)).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  });

  it('ignores a return_to that is not a same-origin relative path', async () => {
    for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
      const { page } = await samlLogin(t, conn, alice, evil);
      expect(page.url).toBe(`${t.url}/account`);
    }
  });

  it('answers /api/v1/me with 401 JSON without a session, and unknown connections with 404 unknown_connection', async () => {
    const me = await t.api('GET', '/api/v1/me', { key: null });
    expect(me.status).toBe(401);
    expect(me.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    const json = await fetch(`${t.url}/sso/saml/nope/login`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(await json.json()).toMatchObject({ statusCode: 404, errorCode: 'unknown_connection', reason: 'unknown_connection' });
    const html = await fetch(`${t.url}/sso/saml/nope/metadata`);
    expect(html.status).toBe(404);
    expect(await html.text()).toMatch(/Sign-in failed[\s\S]*unknown_connection/);
  });

  it('denies an email outside the verified domains with a 403 page and audits login.denied', async () => {
    const { page, meStatus } = await samlLogin(t, conn, { nameId: 'mallory@evil.com', email: 'mallory@evil.com' });
    expect(page.status).toBe(403);
    expect(page.text).toContain('email_domain_not_verified');
    expect(meStatus).toBe(401);
    const denied = (await t.api('GET', '/api/v1/audit-logs?action=login.denied')).body.audit_logs;
    expect(denied).toHaveLength(1);
    expect(denied[0].detail).toMatchObject({ reason: 'email_domain_not_verified', email: 'mallory@evil.com' });
    expect((await t.container.db('users')).length).toBe(0);
  });

  it('answers an oversized ACS post with 413', async () => {
    const res = await postAcs('A'.repeat(400_000));
    expect(res.status).toBe(413);
  });
});

describe('SAML responses that must be refused (fixtures/saml/responses)', () => {
  const cases: Array<[string, string]> = [
    ['unsigned', 'invalid_response'],
    ['signed-by-other-key', 'invalid_response'],
    ['wrong-issuer', 'invalid_response'],
    ['wrong-audience', 'invalid_response'],
    ['wrong-destination', 'invalid_response'],
    ['wrong-recipient', 'invalid_response'],
    ['expired', 'invalid_response'],
    ['unknown-in-response-to', 'invalid_response'],
    ['signature-wrapping', 'invalid_response'],
    ['doctype-entities', 'invalid_response'],
    ['beyond-clock-skew', 'invalid_response'],
  ];
  for (const [scenario, reason] of cases) {
    it(`${scenario} → 400 ${reason}, nobody signed in`, async () => {
      const requestId = await issuedRequestId();
      const { samlResponse } = conn.idp.scenario(scenario, { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId, user: alice });
      const res = await postAcs(samlResponse);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ errorCode: reason, reason });
      expect(res.headers.getSetCookie().join('')).not.toContain('orgsync.sid');
      expect(await t.container.db('memberships')).toHaveLength(0);
      expect(await t.container.db('identities')).toHaveLength(0);
    });
  }

  it('accepts an IdP clock up to 60 s ahead (within-clock-skew)', async () => {
    const requestId = await issuedRequestId();
    const { samlResponse } = conn.idp.scenario('within-clock-skew', { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId, user: alice });
    expect((await postAcs(samlResponse)).status).toBe(200);
  });

  it('accepts a response signed at the assertion only', async () => {
    const requestId = await issuedRequestId();
    const { samlResponse } = conn.idp.scenario('valid.assertion-signed', { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId, user: alice });
    const res = await postAcs(samlResponse);
    expect(res.status).toBe(200);
    expect(res.body.sync_run.added).toHaveLength(2);
  });

  it('replayed: the same response a second time → 400 replay', async () => {
    const requestId = await issuedRequestId();
    const { samlResponse } = conn.idp.scenario('valid.response-signed', { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId, user: alice });
    expect((await postAcs(samlResponse)).status).toBe(200);
    const again = await postAcs(samlResponse);
    expect(again.status).toBe(400);
    expect(again.body.reason).toBe('replay');
    expect(await t.container.db('saml_replay_cache').where({ connection_id: conn.id })).toHaveLength(1);
  });

  it('IdP-initiated (no InResponseTo) only when the connection allows it', async () => {
    const idpInitiated = () => conn.idp.scenario('valid.response-signed', { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId: '', user: alice }).samlResponse;
    const refused = await postAcs(idpInitiated());
    expect(refused.status).toBe(400);
    expect(refused.body.reason).toBe('invalid_response');
    expect((await t.api('PATCH', `/api/v1/connections/${conn.id}`, { body: { allow_idp_initiated: true } })).status).toBe(200);
    const accepted = await postAcs(idpInitiated());
    expect(accepted.status).toBe(200);
  });

  it('a request id issued for one connection does not validate another connection’s response', async () => {
    const other = await samlConnection(t, { name: 'other-saml', domains: ['other.example'] });
    try {
      const { requestId } = await startSamlLogin(t, other.id, browser);
      const { samlResponse } = conn.idp.scenario('valid.response-signed', { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId, user: alice });
      expect((await postAcs(samlResponse)).body.reason).toBe('invalid_response');
      expect(await t.container.db('identities')).toHaveLength(0);
    } finally {
      await other.idp.stop();
    }
  });
});
