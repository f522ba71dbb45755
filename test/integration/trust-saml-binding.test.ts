import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, postSamlResponse, samlConnection, startSamlLogin } from '../helpers/sso-setup.js';
import { sign, type IdpUser, type SamlTestIdp } from '../helpers/saml-idp.js';
import { Browser } from '../helpers/sso-browser.js';
import { createContainer } from '../../src/container.js';
import { createApp } from '../../src/app.js';
import { createLogger } from '../../src/platform/logger.js';
import type { ManualClock } from '../../src/platform/clock.js';

/**
 * Tenant trust, SP-initiated SAML bound to the browser that started it: a response answering an
 * AuthnRequest finishes only where that request's pre-login cookie is. Login CSRF (an attacker's
 * own genuine response, pushed into a victim's browser) signs nobody in.
 */
type Conn = { idp: SamlTestIdp; id: string; acsUrl: string; spEntityId: string };
let t: TestApp;
let conn: Conn;
const mallory: IdpUser = { nameId: 'mallory@acme.com', email: 'mallory@acme.com', groups: [] };
const alice: IdpUser = { nameId: 'alice@acme.com', email: 'alice@acme.com', groups: [] };

beforeEach(async () => {
  t = await startTestApp();
  await createOrgs(t, 'acme');
  conn = await samlConnection(t, { membership_rules: [{ organization: 'acme', role: 'member' }] });
});
afterEach(async () => {
  await conn.idp.stop();
  await t.close();
});

const signed = (c: Conn, requestId: string, user: IdpUser) => c.idp.scenario('valid.response-signed', { acsUrl: c.acsUrl, spEntityId: c.spEntityId, requestId, user }).samlResponse;

/** Nobody was signed in and nothing about a person was written. */
async function expectNobodySignedIn(): Promise<void> {
  expect(await t.container.db('users')).toHaveLength(0);
  expect(await t.container.db('identities')).toHaveLength(0);
  expect(await t.container.db('memberships')).toHaveLength(0);
  expect(await t.container.db('sessions')).toHaveLength(0);
  expect(await t.container.db('audit_events').whereIn('action', ['login.succeeded', 'user.provisioned'])).toHaveLength(0);
}

describe('SP-initiated SAML responses finish only in the browser that started the sign-in', () => {
  it('login CSRF: the attacker’s genuine response posted from the victim’s browser signs nobody in; the attacker’s own browser still can', async () => {
    const { browser: attacker, requestId } = await startSamlLogin(t, conn.id);
    const response = signed(conn, requestId, mallory);

    const victim = new Browser();
    const { acs, final } = await postSamlResponse(victim, conn.acsUrl, response, { json: true });
    expect(acs.status).toBe(303);
    expect(acs.headers.getSetCookie().join('')).not.toContain('orgsync.sid');
    expect(final.status, final.text).toBe(400);
    expect(JSON.parse(final.text)).toMatchObject({ statusCode: 400, errorCode: 'invalid_response', reason: 'invalid_response', message: expect.stringMatching(/started in another browser/) });
    expect(victim.cookie(t.url, 'orgsync.sid')).toBeUndefined();
    expect((await victim.request('GET', `${t.url}/api/v1/me`)).status).toBe(401);
    await expectNobodySignedIn();

    // The same continuation in the browser holding the request's cookie finishes the sign-in.
    const done = await attacker.request('GET', new URL(acs.headers.get('location')!, conn.acsUrl).href);
    expect(done.status, done.text).toBe(303);
    expect(JSON.parse((await attacker.request('GET', `${t.url}/api/v1/me`)).text).user.email).toBe('mallory@acme.com');
  });

  it('the HTML page names the reason for a person who started in another browser', async () => {
    const { requestId } = await startSamlLogin(t, conn.id);
    const { final } = await postSamlResponse(new Browser(), conn.acsUrl, signed(conn, requestId, mallory));
    expect(final.status).toBe(400);
    expect(final.text).toMatch(/started in another browser[\s\S]*Reason: <code>invalid_response<\/code>/);
    await expectNobodySignedIn();
  });

  it('a victim with a sign-in of their own in progress is not signed in as the attacker either', async () => {
    const { requestId } = await startSamlLogin(t, conn.id);
    const { browser: victim } = await startSamlLogin(t, conn.id);
    const { final } = await postSamlResponse(victim, conn.acsUrl, signed(conn, requestId, mallory), { json: true });
    expect(final.status).toBe(400);
    expect(JSON.parse(final.text).reason).toBe('invalid_response');
    await expectNobodySignedIn();
  });

  it('another connection’s pre-login cookie, renamed to this connection’s, opens nothing (tenant B cannot stand in for tenant A)', async () => {
    const b = await samlConnection(t, { name: 'tenant-b', domains: ['tenant-b.example'] });
    try {
      const { browser, requestId } = await startSamlLogin(t, conn.id);
      const bCookie = (await startSamlLogin(t, b.id, browser)).browser.cookie(t.url, `orgsync.saml.${b.id}`);
      expect(bCookie).toBeTruthy();
      const { acs } = await postSamlResponse(new Browser(), conn.acsUrl, signed(conn, requestId, mallory), { json: true });
      const continuation = new URL(acs.headers.get('location')!, conn.acsUrl).href;
      const res = await new Browser().request('GET', continuation, { headers: { accept: 'application/json', cookie: `orgsync.saml.${conn.id}=${bCookie}` } });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).reason).toBe('invalid_response');
      await expectNobodySignedIn();
      // Control: this connection's own cookie from the same browser does finish it.
      expect((await browser.request('GET', continuation, { headers: { accept: 'application/json' } })).status).toBe(200);
    } finally {
      await b.idp.stop();
    }
  });

  it('a tampered pre-login cookie opens nothing', async () => {
    const { browser, requestId } = await startSamlLogin(t, conn.id);
    const name = `orgsync.saml.${conn.id}`;
    const value = browser.cookie(t.url, name)!;
    const at = Math.floor(value.length / 2);
    const flipped = `${value.slice(0, at)}${value[at] === 'A' ? 'B' : 'A'}${value.slice(at + 1)}`;
    const { acs } = await postSamlResponse(new Browser(), conn.acsUrl, signed(conn, requestId, mallory), { json: true });
    const continuation = new URL(acs.headers.get('location')!, conn.acsUrl).href;
    const res = await new Browser().request('GET', continuation, { headers: { accept: 'application/json', cookie: `${name}=${flipped}` } });
    expect(res.status).toBe(400);
    await expectNobodySignedIn();
    const genuine = await new Browser().request('GET', continuation, { headers: { accept: 'application/json', cookie: `${name}=${value}` } });
    expect(genuine.status, genuine.text).toBe(200);
  });

  it('a continuation link works once', async () => {
    const { browser, requestId } = await startSamlLogin(t, conn.id);
    const { acs, final } = await postSamlResponse(browser, conn.acsUrl, signed(conn, requestId, alice), { json: true });
    expect(final.status).toBe(200);
    const again = await browser.request('GET', new URL(acs.headers.get('location')!, conn.acsUrl).href, { headers: { accept: 'application/json' } });
    expect(again.status).toBe(400);
    expect(JSON.parse(again.text).reason).toBe('invalid_response');
    expect(await t.container.db('saml_login_handoffs')).toHaveLength(0);
    expect(await t.container.db('audit_events').where({ action: 'login.succeeded' })).toHaveLength(1);
  });

  it('one AuthnRequest answers one response: a second genuine response to the same request is a replay', async () => {
    const { browser, requestId } = await startSamlLogin(t, conn.id);
    expect((await postSamlResponse(browser, conn.acsUrl, signed(conn, requestId, alice), { json: true })).final.status).toBe(200);
    const second = await postSamlResponse(browser, conn.acsUrl, signed(conn, requestId, mallory), { json: true });
    expect(second.final.status).toBe(400);
    expect(JSON.parse(second.final.text).reason).toBe('replay');
    expect(await t.container.db('identities').pluck('subject')).toEqual(['alice@acme.com']);
  });

  it('request ids this service did not issue, or issued too long ago, are refused at the ACS and leave no row', async () => {
    const { browser, requestId } = await startSamlLogin(t, conn.id);
    const swap = (id: string, at: number) => `${id.slice(0, at)}${id[at] === 'A' ? 'B' : 'A'}${id.slice(at + 1)}`;
    // An id of the old random shape, one character changed in the MAC or in its last (padding) bits, another length.
    const forged = ['_0123456789abcdef0123456789abcdef', swap(requestId, 30), swap(requestId, requestId.length - 1), `_${'A'.repeat(45)}`, 'id-with:colon'];
    for (const id of forged) {
      const { acs } = await postSamlResponse(browser, conn.acsUrl, signed(conn, id, alice), { json: true });
      expect(acs.status, id).toBe(400);
      expect(JSON.parse(acs.text).reason).toBe('invalid_response');
    }
    // Eleven minutes later the genuine id has expired too.
    (t.clock as ManualClock).advance(11 * 60_000);
    const { acs } = await postSamlResponse(browser, conn.acsUrl, signed(conn, requestId, alice), { json: true });
    expect(acs.status).toBe(400);
    expect(JSON.parse(acs.text).reason).toBe('invalid_response');
    expect(await t.container.db('saml_requests')).toHaveLength(0);
    expect(await t.container.db('saml_login_handoffs')).toHaveLength(0);
    await expectNobodySignedIn();
  });

  it('IdP-initiated responses need no pre-login cookie, and only when the connection allows them', async () => {
    const refused = await postSamlResponse(new Browser(), conn.acsUrl, signed(conn, '', alice), { json: true });
    expect(refused.acs.status).toBe(400);
    await expectNobodySignedIn();
    expect((await t.api('PATCH', `/api/v1/connections/${conn.id}`, { body: { allow_idp_initiated: true } })).status).toBe(200);
    const accepted = await postSamlResponse(new Browser(), conn.acsUrl, signed(conn, '', alice), { json: true });
    expect(accepted.final.status, accepted.final.text).toBe(200);
    // With IdP-initiated allowed, SP-initiated responses are still bound to their browser.
    const { requestId } = await startSamlLogin(t, conn.id);
    const elsewhere = await postSamlResponse(new Browser(), conn.acsUrl, signed(conn, requestId, mallory), { json: true });
    expect(elsewhere.final.status).toBe(400);
    expect(await t.container.db('identities').pluck('subject')).toEqual(['alice@acme.com']);
  });

  it('another instance on the same database finishes a sign-in started here (no state in process memory)', async () => {
    const other = await createContainer({ config: t.container.config, db: t.container.db, clock: t.clock, logger: createLogger('silent'), migrate: false });
    const server: Server = await new Promise((resolve) => {
      const s = createApp(other).listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const otherUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { browser, requestId } = await startSamlLogin(t, conn.id);
      // The IdP's form reaches the other instance; the continuation comes back here.
      const acs = await browser.request('POST', `${otherUrl}/sso/saml/${conn.id}/acs`, {
        body: new URLSearchParams({ SAMLResponse: signed(conn, requestId, alice) }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(acs.status, acs.text).toBe(303);
      const done = await browser.request('GET', new URL(acs.headers.get('location')!, t.url).href);
      expect(done.status, done.text).toBe(303);
      expect((await browser.request('GET', `${t.url}/api/v1/me`)).status).toBe(200);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('what an IdP admin can make this instance remember', () => {
  const template = readFileSync(new URL('../../fixtures/saml/responses/response.template.xml', import.meta.url), 'utf8');
  /** A genuinely signed response whose validity the IdP chose (`notOnOrAfter`), or left out (null). */
  const withValidity = (requestId: string, notOnOrAfter: string | null) => {
    let xml = conn.idp.fill(template, { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId, user: alice, overrides: notOnOrAfter ? { NOT_ON_OR_AFTER: notOnOrAfter } : {} }).xml;
    if (notOnOrAfter === null) xml = xml.replace(/ NotOnOrAfter="[^"]*"/g, '');
    return Buffer.from(sign(xml, 'response', 'idp-test-only')).toString('base64');
  };

  it('an assertion usable for days, or for ever, is refused (its id would sit in the replay cache as long); an hour-long one, as Entra issues, is remembered about an hour', async () => {
    for (const validity of ['+48h', null]) {
      const { browser, requestId } = await startSamlLogin(t, conn.id);
      const { acs } = await postSamlResponse(browser, conn.acsUrl, withValidity(requestId, validity), { json: true });
      expect(acs.status, String(validity)).toBe(400);
      expect(JSON.parse(acs.text).reason).toBe('invalid_response');
    }
    await expectNobodySignedIn();

    const { browser, requestId } = await startSamlLogin(t, conn.id);
    const { final } = await postSamlResponse(browser, conn.acsUrl, withValidity(requestId, '+70m'), { json: true });
    expect(final.status, final.text).toBe(200);
    const [row] = await t.container.db('saml_replay_cache').where({ connection_id: conn.id });
    const kept = Date.parse(row.expires_at) - t.clock.now().getTime();
    expect(kept).toBeGreaterThan(69 * 60_000);
    expect(kept).toBeLessThan(75 * 60_000);
  });
});
