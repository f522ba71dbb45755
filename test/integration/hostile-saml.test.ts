import { readFileSync } from 'node:fs';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, postSamlResponse, samlConnection, startSamlLogin } from '../helpers/sso-setup.js';
import { keys, sign, type SamlTestIdp } from '../helpers/saml-idp.js';
import { Browser } from '../helpers/sso-browser.js';

/** SAML attack cases of issue 9 beyond the ones sso-saml.test.ts covers, each from a fixture. */
let t: TestApp;
let conn: { idp: SamlTestIdp; id: string; acsUrl: string; spEntityId: string };
/** The browser that starts each sign-in and posts the response (it holds the pre-login cookie). */
let browser: Browser;
const alice = { nameId: 'alice@acme.com', email: 'alice@acme.com', groups: [] };
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/saml/responses/${name}`, import.meta.url), 'utf8');

beforeEach(async () => {
  browser = new Browser();
  t = await startTestApp();
  await createOrgs(t, 'acme');
  conn = await samlConnection(t, { membership_rules: [{ organization: 'acme', role: 'member' }] });
});
afterEach(async () => {
  await conn.idp.stop();
  await t.close();
});

const requestId = async (): Promise<string> => (await startSamlLogin(t, conn.id, browser)).requestId;

/** The response posted from the browser that started the sign-in; the ACS's answer and the continuation's. */
const postAcs = async (samlResponse: string) => {
  const { acs, final } = await postSamlResponse(browser, conn.acsUrl, samlResponse, { json: true });
  return { status: final.status, text: final.text, cookies: [...acs.headers.getSetCookie(), ...final.headers.getSetCookie()].join('') };
};

/** The first Signature in the document, checked by xml-crypto alone against the IdP's certificate. */
function genuineSignatureVerifiesAlone(xml: string): boolean {
  const signature = new DOMParser().parseFromString(xml, 'text/xml').getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0];
  if (!signature) return false;
  const verifier = new SignedXml({ publicCert: keys['idp-test-only'].cert });
  verifier.loadSignature(signature as unknown as Node);
  try {
    return verifier.checkSignature(xml);
  } catch {
    return false;
  }
}

/** 400 invalid_response from the signature validation, and nobody at all signed in. */
async function expectRefusedBySignatureCheck(samlResponse: string): Promise<void> {
  const whys: string[] = [];
  vi.spyOn(t.container.logger, 'info').mockImplementation(((obj: { detail?: { why?: string } } | undefined) => {
    if (obj?.detail?.why) whys.push(obj.detail.why);
  }) as never);
  const res = await postAcs(samlResponse);
  expect(res.status, res.text).toBe(400);
  expect(JSON.parse(res.text)).toMatchObject({ statusCode: 400, errorCode: 'invalid_response', reason: 'invalid_response' });
  expect(whys).toHaveLength(1);
  expect(whys[0]).toMatch(/signature/i);
  expect(res.cookies).not.toContain('orgsync.sid');
  expect(await t.container.db('identities')).toHaveLength(0);
  expect(await t.container.db('users')).toHaveLength(0);
  expect(await t.container.db('sessions').whereNotNull('user_id')).toHaveLength(0);
  expect(await t.container.db('audit_events').where({ action: 'login.succeeded' })).toHaveLength(0);
}

describe('SAML responses refused (fixtures/saml/responses)', () => {
  for (const scenario of ['not-yet-valid', 'assertion-from-other-idp']) {
    it(`${scenario} → 400 invalid_response, nobody signed in`, async () => {
      const { samlResponse } = conn.idp.scenario(scenario, { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId: await requestId(), user: alice });
      const res = await postAcs(samlResponse);
      expect(res.status, res.text).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ errorCode: 'invalid_response' });
      expect(res.cookies).not.toContain('orgsync.sid');
      expect(await t.container.db('identities')).toHaveLength(0);
    });
  }

  it('control: the genuinely signed response the wrapping attacks are cut from signs alice in', async () => {
    const { signedResponse } = conn.idp.signedParts({ acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId: await requestId(), user: alice });
    const res = await postAcs(Buffer.from(signedResponse).toString('base64'));
    expect(res.status, res.text).toBe(200);
    expect(await t.container.db('identities').pluck('subject')).toEqual(['alice@acme.com']);
  });

  // Alice holds one genuine sign-in; each fixture rearranges it so that the IdP's signature still
  // verifies over her signed element while an unsigned assertion for ceo@acme.com sits where a
  // careless SP would read it (fixtures/saml/README.md). `verifies alone`: the wrapped signature
  // still checks out with xml-crypto on its own, so only the SP's wrapping defences stand in the way
  // (in the other shapes xml-crypto itself already refuses a duplicated Signature or ID).
  const wrapping: Array<[scenario: string, verifiesAlone: boolean]> = [
    ['xsw1-response-in-signature-object', true],
    ['xsw2-response-detached-sibling', true],
    ['xsw3-evil-assertion-before-signed', true],
    ['xsw4-evil-assertion-wraps-signed', true],
    ['xsw5-signature-on-evil-original-appended', true],
    ['xsw6-signed-original-in-evil-signature', false],
    ['signature-wrapping', true],
    ['xsw8-original-in-evil-signature-object', true],
    ['xsw-duplicate-id', false],
  ];
  for (const [scenario, verifiesAlone] of wrapping) {
    it(`${scenario} → 400 invalid_response, nobody signed in as the attacker's subject`, async () => {
      const { samlResponse } = conn.idp.scenario(scenario, { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId: await requestId(), user: alice });
      const xml = Buffer.from(samlResponse, 'base64').toString();
      expect(xml).toContain('>ceo@acme.com<');
      expect(genuineSignatureVerifiesAlone(xml)).toBe(verifiesAlone);
      await expectRefusedBySignatureCheck(samlResponse);
    });
  }

  it('signature stripped: alice’s signed response without its signature, edited to ceo → 400 invalid_response', async () => {
    const { samlResponse } = conn.idp.scenario('signature-stripped', { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId: await requestId(), user: alice });
    const xml = Buffer.from(samlResponse, 'base64').toString();
    expect(xml).toContain('>ceo@acme.com<');
    expect(xml).not.toContain('alice@acme.com');
    expect(xml).not.toContain('Signature');
    await expectRefusedBySignatureCheck(samlResponse);
  });

  it('comment injection in NameID never signs in the truncated subject', async () => {
    const spec = JSON.parse(fixture('comment-injection-nameid.json')) as { vars: Record<string, string>; after_signing: { replace: string; with: string } };
    const v = { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId: await requestId(), user: alice, overrides: spec.vars };
    const signed = sign(conn.idp.fill(fixture('response.template.xml'), v).xml, 'response', 'idp-test-only');
    expect(signed).toContain(spec.after_signing.replace);
    const tampered = signed.replace(spec.after_signing.replace, spec.after_signing.with);
    const res = await postAcs(Buffer.from(tampered).toString('base64'));
    // Refusing is fine; accepting is fine only as the full signed subject, never as alice.
    expect([200, 303, 400]).toContain(res.status);
    const subjects = await t.container.db('identities').pluck('subject');
    expect(subjects).not.toContain('alice@acme.com');
    if (res.status !== 400) expect(subjects).toEqual(['alice@acme.com.evil.example']);
  });
});
