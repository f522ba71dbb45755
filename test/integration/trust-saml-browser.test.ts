import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { hasChromium, launchBrowser } from '../helpers/browser.js';
import { createOrgs, startSamlLogin } from '../helpers/sso-setup.js';
import { SamlTestIdp } from '../helpers/saml-idp.js';
import { autoPostPage } from '../../src/demo/saml-idp.js';
import type { Config } from '../../src/config/index.js';

/**
 * The SAML browser binding in a real Chromium, with orgsync, the IdP and an attacker's page on
 * three different sites: the IdP's form post to the ACS is cross-site (our SameSite=Lax cookies
 * stay behind), the continuation it is redirected to is a top-level GET (they come along).
 */
describe.skipIf(!hasChromium)('SAML sign-in across sites in headless Chromium', () => {
  let t: TestApp;
  let idp: SamlTestIdp;
  let connId: string;
  let acsUrl: string;
  let spEntityId: string;
  let browser: Browser;
  let attacker: Server;
  let attackerUrl = '';
  let attackerPage = '';
  let site = '';

  beforeAll(async () => {
    t = await startTestApp();
    const port = new URL(t.url).port;
    site = `http://orgsync.test:${port}`;
    (t.container as { config: Config }).config = { ...t.container.config, publicUrl: site };
    await createOrgs(t, 'acme');
    idp = new SamlTestIdp();
    await idp.start();
    idp.url = idp.url.replace('127.0.0.1', 'idp.test');
    const res = await t.api('POST', '/api/v1/connections', {
      body: { name: 'acme-saml', type: 'saml', domains: ['acme.com'], idp: { metadata_xml: idp.metadataXml() }, membership_rules: [{ organization: 'acme', role: 'member' }] },
    });
    connId = res.body.id;
    acsUrl = res.body.sp.acs_url;
    spEntityId = res.body.sp.entity_id;
    idp.spMetadata = await (await fetch(`${t.url}/sso/saml/${connId}/metadata`)).text();
    attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(attackerPage));
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    attackerUrl = `http://attacker.test:${(attacker.address() as AddressInfo).port}/`;
    browser = await launchBrowser({ hosts: ['orgsync.test', 'idp.test', 'attacker.test'] });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => attacker?.close(r));
    await idp?.stop();
    await t?.close();
  });

  it('signs in through the IdP: the ACS post goes without our cookies, the continuation carries the pre-login cookie', async () => {
    idp.user = { nameId: 'alice@acme.com', email: 'alice@acme.com', groups: [] };
    const context = await browser.newContext();
    const page = await context.newPage();
    const sent = new Map<string, string>();
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (/\/(acs|continue)$/.test(path)) void r.allHeaders().then((h) => sent.set(path.slice(path.lastIndexOf('/') + 1), h.cookie ?? ''));
    });
    await page.goto(`${site}/sso/saml/${connId}/login?return_to=${encodeURIComponent('/account?welcome=1')}`);
    await page.waitForURL(`${site}/account?welcome=1`);
    expect(await page.locator('h1').textContent()).toContain('alice@acme.com');
    expect(sent.get('acs')).not.toContain(`orgsync.saml.${connId}=`);
    expect(sent.get('continue')).toContain(`orgsync.saml.${connId}=`);
    // Used up: the pre-login cookie is gone, the session cookie is there.
    expect((await context.cookies(site)).map((c) => c.name)).toEqual(['orgsync.sid']);
    await context.close();
  });

  it('login CSRF: an attacker’s page posting the attacker’s genuine response into the victim’s browser signs nobody in', async () => {
    const { requestId } = await startSamlLogin(t, connId);
    const { samlResponse } = idp.scenario('valid.response-signed', { acsUrl, spEntityId, requestId, user: { nameId: 'mallory@acme.com', email: 'mallory@acme.com' } });
    attackerPage = autoPostPage(acsUrl, samlResponse, '');
    const context = await browser.newContext();
    const page = await context.newPage();
    // The victim has a sign-in of their own in progress, so a pre-login cookie is there to be sent.
    const own = (await startSamlLogin(t, connId)).browser.cookie(t.url, `orgsync.saml.${connId}`)!;
    await context.addCookies([{ name: `orgsync.saml.${connId}`, value: own, domain: 'orgsync.test', path: `/sso/saml/${connId}/`, httpOnly: true, sameSite: 'Lax' }]);
    await page.goto(attackerUrl);
    await page.waitForURL(new RegExp(`^${site}/sso/saml/${connId}/continue`));
    expect(await page.content()).toMatch(/started in another browser[\s\S]*invalid_response/);
    const me = await page.goto(`${site}/api/v1/me`);
    expect(me?.status()).toBe(401);
    expect(await t.container.db('identities').where({ subject: 'mallory@acme.com' })).toHaveLength(0);
    await context.close();
  });
});
