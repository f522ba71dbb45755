import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { hasChromium, launchBrowser, VIEWPORTS } from '../helpers/browser.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { SamlTestIdp } from '../helpers/saml-idp.js';
import { OidcTestOp } from '../helpers/oidc-op.js';
import { serveDocument } from '../helpers/setup-link.js';

const RESULTS = 'test-results/setup';

describe.skipIf(!hasChromium)('setup link walk-through in headless Chromium', () => {
  let t: TestApp;
  let dns: TestDnsServer;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    dns = await startDnsServer();
    t = await startTestApp({ env: { DNS_RESOLVERS: dns.address, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
    browser = await launchBrowser();
    mkdirSync(RESULTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await dns?.close();
  });

  /** A page of ours that logs a CSP violation or any script error fails the walk-through. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: VIEWPORTS.laptop });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && page.url().startsWith(t.url)) problems.push(`${page.url()}: ${m.text()}`);
    });
    return page;
  }

  /** Screenshots at laptop and phone width; neither may scroll sideways. */
  async function checkBoth(page: Page, name: string): Promise<void> {
    for (const [label, size] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(size);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${name} scrolls sideways at ${label}`).toBeLessThanOrEqual(0);
      await page.screenshot({ path: `${RESULTS}/${name}-${label}.png`, fullPage: true });
    }
    await page.setViewportSize(VIEWPORTS.laptop);
    expect(problems).toEqual([]);
  }

  async function click(page: Page, name: string | RegExp): Promise<void> {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name }).first().click()]);
  }

  async function proveDomain(page: Page, domain: string): Promise<void> {
    await page.getByLabel('Domain', { exact: true }).fill(domain);
    await click(page, 'Add domain');
    const value = await page.locator('#domains button.copy').nth(1).getAttribute('data-copy');
    expect(await page.locator('#domains').textContent()).toContain('Waiting for the record');
    await click(page, 'Check now');
    expect(await page.getByRole('status').textContent()).toContain('not found yet');
    dns.records.set(`_orgsync-challenge.${domain}`, [value!]);
    await click(page, 'Check now');
    expect(await page.locator('#domains').textContent()).toContain('Verified');
  }

  const newLink = async (org: string, intents: string[]) => (await t.api('POST', `/api/v1/organizations/${org}/setup-links`, { body: { intents } })).body.url as string;

  it('SAML: Okta instructions, metadata URL, DNS proof, roles, test sign-in, finish', async () => {
    const idp = new SamlTestIdp();
    await idp.start();
    const metadata = await serveDocument(() => idp.metadataXml());
    try {
      await t.api('POST', '/api/v1/organizations', { body: { name: 'acme', display_name: 'Acme Corporation' } });
      const page = await newPage();
      await page.goto(await newLink('acme', ['sso']));
      expect(page.url()).toBe(`${t.url}/setup`);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Set up single sign-on for Acme Corporation');
      await checkBoth(page, 'saml-1-start');

      await click(page, 'Okta');
      const acs = page.locator('#configure button.copy').first();
      const acsUrl = await acs.getAttribute('data-copy');
      expect(acsUrl).toMatch(new RegExp(`^${t.url}/sso/saml/[0-9a-f-]{36}/acs$`));
      await acs.click();
      await expect.poll(() => acs.textContent()).toBe('Copied');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(acsUrl);
      await checkBoth(page, 'saml-2-okta-steps');

      await page.getByLabel('Metadata URL').fill(metadata.url);
      await click(page, 'Fetch and save');
      expect(await page.getByRole('status').textContent()).toContain('Identity provider settings saved.');
      await proveDomain(page, 'acme.com');
      await checkBoth(page, 'saml-3-domain-verified');

      await page.getByLabel('Everyone who signs in').selectOption('');
      await page.getByLabel('Groups whose members become admins').fill('it-admins');
      await click(page, 'Save roles');

      idp.spMetadata = await (await fetch(acsUrl!.replace(/acs$/, 'metadata'))).text();
      idp.user = { nameId: 'ada@acme.com', email: 'ada@acme.com', groups: ['it-admins', 'staff'] };
      await Promise.all([page.waitForURL(`${t.url}/setup#test`), page.getByRole('link', { name: 'Test sign-in' }).click()]);
      expect(await page.locator('#test-outcome').textContent()).toBe('Would join Acme Corporation as admin.');
      expect(await page.locator('#test').textContent()).toContain('ada@acme.com');
      await checkBoth(page, 'saml-4-tested');

      await click(page, 'Finish setup');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Setup complete');
      await checkBoth(page, 'saml-5-done');
      expect((await t.api('GET', '/api/v1/organizations/acme')).body.sso.enabled).toBe(true);
      await page.context().close();
    } finally {
      await idp.stop();
      await metadata.close();
    }
  });

  it('OIDC with a directory: Keycloak instructions, client secret, DNS proof, test sign-in, SCIM token once, finish', async () => {
    const op = new OidcTestOp();
    await op.start();
    try {
      await t.api('POST', '/api/v1/organizations', { body: { name: 'initech', display_name: 'Initech' } });
      const page = await newPage();
      await page.goto(await newLink('initech', ['sso', 'directory']));
      await click(page, 'Keycloak');
      const redirectUri = await page.locator('#configure button.copy').first().getAttribute('data-copy');
      op.configure({ client_id: 'orgsync', client_secret: 'op-secret-0123456789', redirect_uris: [redirectUri!] });
      op.accounts.set('u-7', { sub: 'u-7', email: 'peter@initech.com', email_verified: true, name: 'Peter Gibbons', groups: ['eng'] });
      await page.getByLabel('Issuer URL').fill(op.issuer);
      await page.getByLabel('Client ID').fill('orgsync');
      await page.getByLabel('Client secret').fill('op-secret-0123456789');
      await page.getByLabel('Scopes').fill('openid email profile groups');
      await click(page, 'Save');
      await proveDomain(page, 'initech.com');
      await checkBoth(page, 'oidc-1-configured');

      await Promise.all([page.waitForURL((u) => u.href.startsWith(op.issuer)), page.getByRole('link', { name: 'Test sign-in' }).click()]);
      await page.locator('input[name="login"]').fill('u-7');
      await page.locator('input[name="password"]').fill('any-password');
      // The OP's login form, then its consent form, then back to the setup page.
      for (let i = 0; i < 4 && !page.url().startsWith(t.url); i++) {
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('button[type="submit"]').first().click()]);
      }
      expect(page.url()).toBe(`${t.url}/setup#test`);
      expect(await page.locator('#test-outcome').textContent()).toBe('Would join Initech as member.');
      await checkBoth(page, 'oidc-2-tested');

      await click(page, 'Create the SCIM endpoint');
      const token = await page.locator('#directory button.copy').nth(1).getAttribute('data-copy');
      expect(token).toMatch(/^osd_/);
      await checkBoth(page, 'oidc-3-directory');
      await page.goto(`${t.url}/setup`);
      expect(await page.content()).not.toContain(token!);
      expect(await page.locator('#directory-status').textContent()).toBe('received 0 users, 0 groups, no request yet');

      await click(page, 'Finish setup');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Setup complete');
      await checkBoth(page, 'oidc-4-done');
      await page.context().close();
    } finally {
      await op.stop();
    }
  });
});
