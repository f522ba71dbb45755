import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { hasChromium, launchBrowser, VIEWPORTS } from '../helpers/browser.js';
import { createOrgs } from '../helpers/sso-setup.js';
import { hasSimpleSamlPhp, SimpleSamlPhpIdp } from '../helpers/simplesamlphp.js';

/**
 * SimpleSAMLphp (Debian package), an IdP nobody here wrote, set up as a careful IdP admin would for
 * orgsync: it verifies our AuthnRequest signatures (`validate.authnrequest`) against the signing
 * certificates copied from our SP metadata and encrypts assertions (`assertion.encryption`) to our
 * encryption certificate. A person signs in through its own login page in Chromium, before and after
 * a key rotation.
 */
describe.skipIf(!hasChromium || !hasSimpleSamlPhp)('SimpleSAMLphp verifying signed requests and encrypting assertions, in Chromium', () => {
  let t: TestApp;
  let idp: SimpleSamlPhpIdp;
  let browser: Browser;
  let connectionId: string;
  let entityId: string;
  const carol = { username: 'carol', password: 'carol-pass', attributes: { uid: ['carol'], mail: ['carol@initech.com'], displayName: ['Carol Chen'], eduPersonAffiliation: ['Staff'] } };

  const keysOf = (metadata: string) =>
    [...metadata.matchAll(/<KeyDescriptor use="(signing|encryption)">[\s\S]*?<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/g)].map((m) => ({ use: m[1] as 'signing' | 'encryption', certificate: m[2]! }));
  const spMetadata = async () => (await fetch(`${t.url}/sso/saml/${connectionId}/metadata`)).text();

  beforeAll(async () => {
    t = await startTestApp();
    idp = new SimpleSamlPhpIdp([carol]);
    await idp.start();
    await createOrgs(t, 'initech');
    const conn = await t.api('POST', '/api/v1/connections', {
      body: {
        name: 'initech-simplesamlphp',
        type: 'saml',
        domains: ['initech.com'],
        idp: { metadata_xml: await idp.metadataXml() },
        attribute_mapping: { email: ['mail'], name: ['displayName'], groups: ['eduPersonAffiliation'] },
        membership_rules: [{ organization: 'initech', role: 'member', groups: ['Staff'] }],
        sign_authn_requests: true,
        require_encrypted_assertions: true,
      },
    });
    expect(conn.status, conn.text).toBe(201);
    connectionId = conn.body.id;
    entityId = conn.body.sp.entity_id;
    idp.addSp({ entityId, acsUrl: conn.body.sp.acs_url, nameIdAttribute: 'uid', keys: keysOf(await spMetadata()), validateAuthnRequest: true, encryptAssertion: true });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await idp?.stop();
    await t?.close();
  });

  /** Signs Carol in through the IdP's form; returns the page and the SAMLResponse posted to our ACS. */
  async function signIn(): Promise<{ page: Page; samlResponse: string }> {
    const context = await browser.newContext({ viewport: VIEWPORTS.laptop });
    const page = await context.newPage();
    let samlResponse = '';
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/acs')) samlResponse = Buffer.from(new URLSearchParams(r.postData() ?? '').get('SAMLResponse') ?? '', 'base64').toString('utf8');
    });
    await page.goto(`${t.url}/sso/saml/${connectionId}/login`);
    expect(page.url(), `${await page.locator('body').textContent()}\n${idp.output()}`).toContain(idp.url);
    await page.locator('input[name="username"]').fill(carol.username);
    await page.locator('input[name="password"]').fill(carol.password);
    await Promise.all([page.waitForURL(`${t.url}/account`, { timeout: 30_000 }), page.locator('form').first().evaluate((f: HTMLFormElement) => f.requestSubmit())]);
    return { page, samlResponse };
  }

  it('signs Carol in: SimpleSAMLphp accepted our signed request and encrypted the assertion to our key', async () => {
    const { page, samlResponse } = await signIn();
    expect(samlResponse).toContain('EncryptedAssertion');
    expect(samlResponse).not.toContain('carol@initech.com');
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    expect(me.user.email).toBe('carol@initech.com');
    expect(me.organizations.map((o: { name: string }) => o.name)).toEqual(['initech']);
    await page.context().close();
  });

  it('keeps working through a rotation: old keys during the overlap, the new ones once the IdP has them and the old are retired', async () => {
    const rotated = await t.api('POST', `/api/v1/connections/${connectionId}/sp-keys/rotate`, { body: {} });
    expect(rotated.status, rotated.text).toBe(200);
    // The IdP still has only the old certificates: our previous key signs, the previous encryption key decrypts.
    let signedIn = await signIn();
    expect(signedIn.samlResponse).toContain('EncryptedAssertion');
    await signedIn.page.context().close();

    // The IdP admin copies the new metadata (both signing certificates, the new encryption one first), then we retire.
    idp.updateSp(entityId, { keys: keysOf(await spMetadata()).filter((k, i, all) => k.use === 'signing' || all.findIndex((x) => x.use === 'encryption') === i) });
    expect((await t.api('POST', `/api/v1/connections/${connectionId}/sp-keys/retire`, { body: {} })).status).toBe(200);
    signedIn = await signIn();
    expect(signedIn.samlResponse).toContain('EncryptedAssertion');
    const me = await signedIn.page.evaluate(async () => (await fetch('/api/v1/me')).json());
    expect(me.user.email).toBe('carol@initech.com');
    await signedIn.page.context().close();
  });

  it('is refused by SimpleSAMLphp when the connection stops signing its requests', async () => {
    expect((await t.api('PATCH', `/api/v1/connections/${connectionId}`, { body: { sign_authn_requests: false } })).status).toBe(200);
    const context = await browser.newContext({ viewport: VIEWPORTS.laptop });
    const page = await context.newPage();
    await page.goto(`${t.url}/sso/saml/${connectionId}/login`);
    expect(page.url()).toContain(idp.url);
    expect(await page.locator('input[name="password"]').count()).toBe(0);
    expect(await page.locator('body').textContent()).toMatch(/signature/i);
    await context.close();
    expect((await t.api('PATCH', `/api/v1/connections/${connectionId}`, { body: { sign_authn_requests: true } })).status).toBe(200);
  });
});
