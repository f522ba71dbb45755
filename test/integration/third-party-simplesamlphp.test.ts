import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { hasChromium, launchBrowser, VIEWPORTS } from '../helpers/browser.js';
import { createOrgs } from '../helpers/sso-setup.js';
import { hasSimpleSamlPhp, SimpleSamlPhpIdp } from '../helpers/simplesamlphp.js';

/**
 * A person signs in through SimpleSAMLphp's own login page, in Chromium: orgsync only knows the IdP by
 * the metadata it publishes, as with a customer's IdP. The login sync follows the IdP's group
 * attribute: a change of groups at the IdP re-roles, and losing the group flags at the next sign-in.
 */
describe.skipIf(!hasChromium || !hasSimpleSamlPhp)('sign-in through SimpleSAMLphp (Debian package) in Chromium', () => {
  let t: TestApp;
  let idp: SimpleSamlPhpIdp;
  let browser: Browser;
  let connectionId: string;
  const consoleErrors: string[] = [];
  const alice = { username: 'alice', password: 'alice-pass', attributes: { uid: ['alice'], mail: ['alice@acme.com'], displayName: ['Alice Anders'], eduPersonAffiliation: ['Engineering', 'Sales'] } };

  beforeAll(async () => {
    t = await startTestApp();
    idp = new SimpleSamlPhpIdp([alice]);
    await idp.start();
    await createOrgs(t, 'acme-eng', 'acme-sales');
    const conn = await t.api('POST', '/api/v1/connections', {
      body: {
        name: 'acme-simplesamlphp',
        type: 'saml',
        domains: ['acme.com'],
        idp: { metadata_xml: await idp.metadataXml() },
        attribute_mapping: { email: ['mail'], name: ['displayName'], groups: ['eduPersonAffiliation'] },
        membership_rules: [
          { organization: 'acme-eng', role: 'admin', groups: ['Engineering'] },
          { organization: 'acme-sales', role: 'member', groups: ['Sales'] },
        ],
      },
    });
    expect(conn.status, conn.text).toBe(201);
    connectionId = conn.body.id;
    idp.addSp({ entityId: conn.body.sp.entity_id, acsUrl: conn.body.sp.acs_url, nameIdAttribute: 'uid' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await idp?.stop();
    await t?.close();
  });

  async function signIn(): Promise<Page> {
    const context = await browser.newContext({ viewport: VIEWPORTS.laptop });
    const page = await context.newPage();
    // Our pages must be clean; the IdP's own pages may miss assets of theirs (not ours to judge).
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico') && (m.text().includes('Content Security Policy') || m.location().url.startsWith(t.url))) consoleErrors.push(`${m.location().url}: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && r.url().startsWith(t.url) && !r.url().endsWith('/favicon.ico')) consoleErrors.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${t.url}/sso/saml/${connectionId}/login`);
    // SimpleSAMLphp's own login form, on its own origin.
    expect(page.url(), idp.output()).toContain(idp.url);
    await page.locator('input[name="username"]').fill(alice.username);
    await page.locator('input[name="password"]').fill(alice.password);
    await Promise.all([page.waitForURL(`${t.url}/account`, { timeout: 30_000 }), page.locator('form').first().evaluate((f: HTMLFormElement) => f.requestSubmit())]);
    return page;
  }

  it('signs Alice in and syncs her groups into organizations and roles', async () => {
    const page = await signIn();
    expect(await page.locator('body').textContent()).toContain('Alice Anders');
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    expect(me.user.email).toBe('alice@acme.com');
    expect(me.organizations.map((o: { name: string; role: string }) => `${o.name}:${o.role}`).sort()).toEqual(['acme-eng:admin', 'acme-sales:member']);
    const identities = await t.container.db('identities').where({ connection_id: connectionId }).pluck('subject');
    expect(identities).toEqual(['alice']);
    expect(consoleErrors, consoleErrors.join("\n")).toEqual([]);
    await page.context().close();
  });

  it('flags the organization whose group the IdP took away, at the next sign-in', async () => {
    alice.attributes.eduPersonAffiliation = ['Engineering'];
    idp.writeUsers();
    const page = await signIn();
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    expect(me.organizations.map((o: { name: string }) => o.name)).toEqual(['acme-eng']);
    expect(me.flagged).toMatchObject([{ name: 'acme-sales', reason: 'login_lost_grant' }]);
    expect(consoleErrors, consoleErrors.join("\n")).toEqual([]);
    await page.context().close();
  });
});
