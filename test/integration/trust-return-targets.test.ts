import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, postSamlResponse, samlConnection, startSamlLogin } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';
import { Browser, type Hop } from '../helpers/sso-browser.js';
import { OidcTestOp } from '../helpers/oidc-op.js';

/**
 * Tenant trust, return targets: after signing in, a browser goes to a page of this site and
 * nowhere else, whatever the return target looked like before normalisation, and for SP-initiated
 * SAML whatever the IdP sends back as RelayState.
 */
const HOSTILE: string[] = [
  '/.//evil.example/x',
  '/..//evil.example/x',
  '/%2e//evil.example/x',
  '/%2E//evil.example/x',
  '/x/..//evil.example/x',
  '/x/%2e%2e//evil.example/x',
  '/.%2e//evil.example/x',
  '/%252e%252e//evil.example/x',
  '//evil.example/x',
  '///evil.example/x',
  '/\\evil.example/x',
  '/\\/evil.example/x',
  '\\\\evil.example/x',
  '/%5cevil.example/x',
  '/%2f%2fevil.example/x',
  '/%2F/evil.example/x',
  '/\t/evil.example/x',
  '/\n/evil.example/x',
  '/\r\n/evil.example/x',
  ' //evil.example/x',
  '/%09/evil.example/x',
  '/%0d%0aLocation:%20https://evil.example/x',
  'https://evil.example/x',
  'http:evil.example/x',
  '//user:pass@evil.example/x',
  'https://127.0.0.1@evil.example/x',
  '//evil\u3002example/x',
  '/\uff0f/evil.example/x',
  '\uff0f\uff0fevil.example/x',
  '//xn--vil-cma.example/x',
  'javascript:alert(document.domain)',
  'data:text/html,<script>alert(1)</script>',
  `/${'a'.repeat(1100)}`,
];

/** Targets that are pages of this site: kept, but only in their normalised form. */
const HOME: Array<[given: string, lands: string]> = [
  ['/account?welcome=1', '/account?welcome=1'],
  ['/admin/organizations', '/admin/organizations'],
  ['/admin/./organizations', '/admin/organizations'],
  ['/x/../account#top', '/account#top'],
];

let t: TestApp;
let saml: { idp: SamlTestIdp; id: string; acsUrl: string; spEntityId: string };
let op: OidcTestOp;
let oidcId: string;
const alice = { nameId: 'alice@acme.com', email: 'alice@acme.com', groups: [] };

beforeAll(async () => {
  t = await startTestApp();
  await createOrgs(t, 'acme', 'globex');
  saml = await samlConnection(t, { membership_rules: [{ organization: 'acme', role: 'member' }] });
  op = new OidcTestOp();
  await op.start();
  const res = await t.api('POST', '/api/v1/connections', {
    body: { name: 'globex-oidc', type: 'oidc', domains: ['globex.com'], idp: { issuer: op.issuer, client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789' }, membership_rules: [{ organization: 'globex', role: 'member' }] },
  });
  oidcId = res.body.id;
  op.configure({ client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789', redirect_uris: [res.body.sp.redirect_uri] });
  op.accounts.set('u-1', { sub: 'u-1', email: 'hank@globex.com', email_verified: true });
});
afterAll(async () => {
  await saml.idp.stop();
  await op.stop();
  await t.close();
});

/** Runs `fn` over `items`, `n` at a time. */
async function inBatches<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += n) out.push(...(await Promise.all(items.slice(i, i + n).map(fn))));
  return out;
}

/** Where the browser is sent once the sign-in is complete: the `Location` of the final 303. */
function landing(hop: Hop): string | null {
  expect(hop.status, hop.text.slice(0, 300)).toBe(303);
  return hop.headers.get('location');
}

/** SP-initiated SAML with `returnTo` at the start, and the IdP posting back `relayState`. */
async function samlSpInitiated(returnTo: string, relayState?: string): Promise<string | null> {
  const { browser, requestId } = await startSamlLogin(t, saml.id, new Browser(), returnTo);
  const { samlResponse } = saml.idp.scenario('valid.response-signed', { acsUrl: saml.acsUrl, spEntityId: saml.spEntityId, requestId, user: alice });
  return landing((await postSamlResponse(browser, saml.acsUrl, samlResponse, { relayState })).final);
}

async function samlIdpInitiated(relayState: string): Promise<string | null> {
  const { samlResponse } = saml.idp.scenario('valid.response-signed', { acsUrl: saml.acsUrl, spEntityId: saml.spEntityId, requestId: '', user: alice });
  return landing((await postSamlResponse(new Browser(), saml.acsUrl, samlResponse, { relayState })).final);
}

/** OIDC with `returnTo`: through the OP's login and consent pages, up to our callback's answer. */
async function oidcLogin(returnTo: string): Promise<string | null> {
  const browser = new Browser();
  let hop = await browser.request('GET', `${t.url}/sso/oidc/${oidcId}/login?return_to=${encodeURIComponent(returnTo)}`);
  for (let i = 0; i < 20; i++) {
    const location = hop.headers.get('location');
    if (hop.status >= 300 && hop.status < 400 && location) {
      const next = new URL(location, hop.url).href;
      hop = await browser.request('GET', next);
      if (next.startsWith(`${t.url}/sso/oidc/${oidcId}/callback`)) return landing(hop);
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

describe(`return targets stay on this site (${HOSTILE.length} hostile forms)`, () => {
  it('SAML, SP-initiated: a hostile return_to lands on /account', async () => {
    const landed = await inBatches(HOSTILE, 6, (evil) => samlSpInitiated(evil));
    expect(landed).toEqual(HOSTILE.map(() => '/account'));
  });

  it('SAML, IdP-initiated (when allowed): a hostile RelayState lands on /account', async () => {
    expect((await t.api('PATCH', `/api/v1/connections/${saml.id}`, { body: { allow_idp_initiated: true } })).status).toBe(200);
    try {
      const landed = await inBatches(HOSTILE, 6, (evil) => samlIdpInitiated(evil));
      expect(landed).toEqual(HOSTILE.map(() => '/account'));
    } finally {
      await t.api('PATCH', `/api/v1/connections/${saml.id}`, { body: { allow_idp_initiated: false } });
    }
  });

  it('OIDC: a hostile return_to lands on /account', async () => {
    const landed = await inBatches(HOSTILE, 4, (evil) => oidcLogin(evil));
    expect(landed).toEqual(HOSTILE.map(() => '/account'));
  });

  it('pages of this site are kept, in their normalised form only (SAML both ways, OIDC)', async () => {
    const expected = HOME.map(([, lands]) => lands);
    expect(await inBatches(HOME, 4, ([given]) => samlSpInitiated(given))).toEqual(expected);
    expect(await inBatches(HOME, 4, ([given]) => oidcLogin(given))).toEqual(expected);
    expect((await t.api('PATCH', `/api/v1/connections/${saml.id}`, { body: { allow_idp_initiated: true } })).status).toBe(200);
    try {
      expect(await inBatches(HOME, 4, ([given]) => samlIdpInitiated(given))).toEqual(expected);
    } finally {
      await t.api('PATCH', `/api/v1/connections/${saml.id}`, { body: { allow_idp_initiated: false } });
    }
  });
});

describe('SP-initiated SAML: the return target is bound to the request, not to what the IdP sends', () => {
  it('a RelayState from the IdP never changes where the browser goes', async () => {
    for (const relayState of ['/admin/organizations', '/.//evil.example/x', '//evil.example/x', '']) {
      expect(await samlSpInitiated('/account?mine=1', relayState)).toBe('/account?mine=1');
    }
    // Without a return_to at the start, the IdP cannot add one either.
    expect(await samlSpInitiated('', '/admin/organizations')).toBe('/account');
  });

  it('no RelayState leaves for the IdP: the AuthnRequest redirect carries none', async () => {
    const res = await new Browser().request('GET', `${t.url}/sso/saml/${saml.id}/login?return_to=${encodeURIComponent('/account?mine=1')}`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.has('SAMLRequest')).toBe(true);
    expect(location.searchParams.has('RelayState')).toBe(false);
  });
});
