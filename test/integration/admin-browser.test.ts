import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { hasChromium, launchBrowser, screenshotBoth, VIEWPORTS } from '../helpers/browser.js';
import { seedAdminData, type AdminSeed } from '../helpers/admin-seed.js';

describe.skipIf(!hasChromium)('admin page in headless Chromium', () => {
  let t: TestApp;
  let seed: AdminSeed;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    seed = await seedAdminData(t);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: VIEWPORTS.laptop });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('favicon')) pageErrors.push(m.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('signs in with an API key', async () => {
    await page.goto(`${t.url}/admin`);
    await expect.poll(() => page.url()).toBe(`${t.url}/admin/sign-in`);
    await screenshotBoth(page, 'sign-in');
    await page.getByLabel('API key').fill(t.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${t.url}/admin/organizations`);
    expect(await page.getByRole('status').textContent()).toContain('Signed in with API key');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Organizations');
    await screenshotBoth(page, 'organizations');
  });

  it('shows connections with copyable SP settings', async () => {
    await page.getByRole('link', { name: 'Connections' }).click();
    await page.waitForURL(`${t.url}/admin/connections`);
    const acs = page.getByLabel('ACS URL', { exact: true });
    expect(await acs.inputValue()).toBe(`${t.url}/sso/saml/${seed.connectionId}/acs`);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
    await page.getByRole('button', { name: 'Copy ACS URL' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(`${t.url}/sso/saml/${seed.connectionId}/acs`);
    expect(await page.locator(`#c-${seed.connectionId}-acs-status`).textContent()).toBe('Copied');
    await screenshotBoth(page, 'connections');
  });

  it('shows the audit log with filters', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action').fill('connection.created');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=connection.created/);
    expect(await page.locator('tbody tr').count()).toBe(1);
    await screenshotBoth(page, 'audit-log');
  });

  it('rejects a cross-site form post with 403 even though the browser sends the cookie', async () => {
    // Another origin on loopback (same site, so SameSite=Lax does not stop the cookie): only the
    // token and the Origin check stand in the way.
    const attacker: Server = await new Promise((resolve) => {
      const s = createServer((_req, res) => {
        res.setHeader('content-type', 'text/html');
        res.end(`<form id="f" method="post" action="${t.url}/admin/sign-out"></form><script>document.getElementById('f').submit()</script>`);
      }).listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const evil = await context.newPage();
      const response = evil.waitForResponse((r) => r.url() === `${t.url}/admin/sign-out`);
      await evil.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      expect((await response).status()).toBe(403);
      await evil.close();
      // Still signed in.
      await page.goto(`${t.url}/admin/organizations`);
      expect(page.url()).toBe(`${t.url}/admin/organizations`);
    } finally {
      await new Promise((r) => attacker.close(r));
    }
  });

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${t.url}/admin/sign-in`);
    await page.goto(`${t.url}/admin/organizations`);
    expect(page.url()).toBe(`${t.url}/admin/sign-in`);
    expect(pageErrors).toEqual([]);
  });
});
