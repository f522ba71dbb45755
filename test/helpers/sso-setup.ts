import { inflateRawSync } from 'node:zlib';
import type { TestApp } from './app.js';
import { SamlTestIdp, type IdpUser } from './saml-idp.js';
import { Browser, type Hop } from './sso-browser.js';
import { scimClient, type ScimCall } from './scim-client.js';

/** A SAML connection to a fresh test IdP, with the IdP importing our SP metadata like an admin would. */
export async function samlConnection(t: Pick<TestApp, 'api' | 'url'>, body: Record<string, unknown> = {}): Promise<{ idp: SamlTestIdp; id: string; acsUrl: string; spEntityId: string }> {
  const idp = new SamlTestIdp();
  await idp.start();
  const res = await t.api('POST', '/api/v1/connections', {
    body: { name: 'acme-saml', type: 'saml', domains: ['acme.com'], idp: { metadata_xml: idp.metadataXml() }, ...body },
  });
  if (res.status !== 201) throw new Error(`connection create failed: ${res.status} ${res.text}`);
  const meta = await fetch(`${t.url}/sso/saml/${res.body.id}/metadata`);
  idp.spMetadata = await meta.text();
  return { idp, id: res.body.id, acsUrl: res.body.sp.acs_url, spEntityId: res.body.sp.entity_id };
}

/** Signs in through the IdP as `user` with a fresh browser; returns the browser and the last page. */
export async function samlLogin(t: Pick<TestApp, 'url'>, conn: { idp: SamlTestIdp; id: string }, user: IdpUser, returnTo?: string) {
  const browser = new Browser();
  conn.idp.user = user;
  const q = returnTo === undefined ? '' : `?return_to=${encodeURIComponent(returnTo)}`;
  const page = await browser.follow('GET', `${t.url}/sso/saml/${conn.id}/login${q}`);
  const me = await browser.request('GET', `${t.url}/api/v1/me`);
  return { browser, page, me: me.status === 200 ? JSON.parse(me.text) : null, meStatus: me.status };
}

/** The AuthnRequest id inside an HTTP-Redirect binding URL (deflated, base64). */
export function requestIdOf(location: string): string {
  const encoded = new URL(location).searchParams.get('SAMLRequest');
  if (!encoded) throw new Error(`no SAMLRequest in ${location}`);
  const xml = inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
  const id = /\sID="([^"]+)"/.exec(xml)?.[1];
  if (!id) throw new Error('AuthnRequest without ID');
  return id;
}

/**
 * Starts an SP-initiated sign-in in `browser`, which keeps the pre-login cookie, and returns the
 * AuthnRequest id: what a test needs to build the IdP's response itself.
 */
export async function startSamlLogin(t: Pick<TestApp, 'url'>, connectionId: string, browser = new Browser(), returnTo?: string): Promise<{ browser: Browser; requestId: string }> {
  const q = returnTo === undefined ? '' : `?return_to=${encodeURIComponent(returnTo)}`;
  const res = await browser.request('GET', `${t.url}/sso/saml/${connectionId}/login${q}`);
  if (res.status !== 302) throw new Error(`login answered ${res.status}: ${res.text.slice(0, 200)}`);
  return { browser, requestId: requestIdOf(res.headers.get('location')!) };
}

/**
 * Posts a SAMLResponse (and RelayState) to the ACS from `browser`, as the IdP's auto-posting form
 * does, and follows the ACS redirect to the continuation that finishes the sign-in. `final` is the
 * continuation's answer, or the ACS's own when it refused the response.
 */
export async function postSamlResponse(
  browser: Browser,
  acsUrl: string,
  samlResponse: string,
  opts: { relayState?: string; json?: boolean } = {},
): Promise<{ acs: Hop; final: Hop }> {
  const accept: Record<string, string> = opts.json ? { accept: 'application/json' } : {};
  const fields: Record<string, string> = { SAMLResponse: samlResponse };
  if (opts.relayState !== undefined) fields.RelayState = opts.relayState;
  const acs = await browser.request('POST', acsUrl, { body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...accept } });
  const location = acs.headers.get('location');
  if (acs.status !== 303 || !location) return { acs, final: acs };
  return { acs, final: await browser.request('GET', new URL(location, acsUrl).href, { headers: accept }) };
}

export async function createOrgs(t: Pick<TestApp, 'api'>, ...names: string[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const name of names) {
    const res = await t.api('POST', '/api/v1/organizations', { body: { name } });
    if (res.status !== 201) throw new Error(`org ${name}: ${res.status}`);
    ids[name] = res.body.id;
  }
  return ids;
}

/**
 * The story tests' IdP: a SAML connection granting `acme` to everyone and `beta` (as admin) to the
 * Engineering group, and its SCIM directory. The organizations must exist.
 */
export async function acmeIdp(t: Pick<TestApp, 'api' | 'url'>): Promise<{ conn: { idp: SamlTestIdp; id: string }; scim: ScimCall }> {
  const conn = await samlConnection(t, {
    membership_rules: [
      { organization: 'acme', role: 'member' },
      { organization: 'beta', role: 'admin', groups: ['Engineering'] },
    ],
  });
  const dir = (await t.api('POST', '/api/v1/directories', { body: { connection_id: conn.id, name: 'Acme IdP' } })).body;
  return { conn, scim: scimClient(dir) };
}
