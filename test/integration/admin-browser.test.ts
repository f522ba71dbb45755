import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { hasChromium, launchBrowser, screenshotBoth, VIEWPORTS } from '../helpers/browser.js';
import { seedAdminData, type AdminSeed } from '../helpers/admin-seed.js';

/** Clicks a control that submits a form and waits for the page the redirect lands on. */
async function submit(page: Page, click: () => Promise<void>): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), click()]);
}

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
    await submit(page, () => page.getByRole('button', { name: 'Sign in' }).click());
    expect(page.url()).toBe(`${t.url}/admin/organizations`);
    expect(await page.getByRole('status').textContent()).toContain('Signed in with API key');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Organizations');
    await screenshotBoth(page, 'organizations');
  });

  it('opens an organization and sees its flagged members with reason, evidence and time', async () => {
    await page.getByRole('link', { name: 'Acme Corporation' }).click();
    await page.waitForURL(`${t.url}/admin/organizations/acme`);
    expect(await page.locator('#idp-managed').textContent()).toContain('Members of this organization come from the identity provider');
    expect(await page.getByRole('button', { name: 'Add member' }).count()).toBe(0);
    await screenshotBoth(page, 'members-active');
    await page.getByRole('link', { name: /Flagged/ }).click();
    await page.waitForURL(`${t.url}/admin/organizations/acme?tab=flagged`);
    const linus = page.getByRole('row', { name: /Linus Torvalds/ });
    expect(await linus.textContent()).toContain('Deactivated in the IdP');
    expect(await linus.textContent()).toContain('SCIM: PATCH active=false');
    expect(await linus.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-/);
    await screenshotBoth(page, 'members-flagged');
  });

  it('removes a flagged member through the confirmation dialog, keyboard first', async () => {
    const remove = page.getByRole('link', { name: 'Remove Linus Torvalds (linus@acme.com)' });
    await remove.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Please confirm' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Remove Linus Torvalds (linus@acme.com) from Acme Corporation?');
    // Cancel has focus; Escape closes and focus returns to the Remove link.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await screenshotBoth(page, 'remove-dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Remove Linus Torvalds (linus@acme.com)');
    expect(await page.getByRole('row', { name: /Linus Torvalds/ }).count()).toBe(1);

    await remove.click();
    await submit(page, () => dialog.getByRole('button', { name: 'Remove member' }).click());
    expect(page.url()).toBe(`${t.url}/admin/organizations/acme?tab=flagged`);
    expect(await page.getByRole('status').textContent()).toBe('Removed Linus Torvalds from Acme Corporation.');
    expect(await page.getByRole('row', { name: /Linus Torvalds/ }).count()).toBe(0);
    expect(await page.getByRole('row', { name: /Margaret Hamilton/ }).count()).toBe(1);
    // The account is kept; a removal record stops login sync from re-adding the membership.
    expect(await t.container.db('users').where({ id: seed.users.linus }).first()).toBeTruthy();
    expect(await t.container.db('removal_records').where({ organization_id: seed.acme.id, user_id: seed.users.linus }).first()).toBeTruthy();
  });

  it('shows the sync report updated after the removal', async () => {
    await page.getByRole('link', { name: 'Sync report' }).click();
    await page.waitForURL(`${t.url}/admin/organizations/acme/report`);
    expect(await page.locator('#count-flagged').textContent()).toBe('1');
    expect(await page.locator('#count-active').textContent()).toBe('2');
    expect(await page.locator('[data-reason="idp_group_removed"]').textContent()).toBe('1');
    expect(await page.locator('[data-reason="idp_deactivated"]').count()).toBe(0);
    expect(await page.locator('table.runs tbody tr').count()).toBe(2);
    await screenshotBoth(page, 'sync-report');
  });

  it('removes all flagged members after confirming', async () => {
    await page.goto(`${t.url}/admin/organizations/acme?tab=flagged`);
    await page.getByRole('link', { name: 'Remove all flagged' }).click();
    const dialog = page.getByRole('dialog', { name: 'Please confirm' });
    expect(await dialog.textContent()).toContain('Remove the flagged member from Acme Corporation?');
    await submit(page, () => dialog.getByRole('button', { name: 'Remove all flagged' }).click());
    expect(page.url()).toBe(`${t.url}/admin/organizations/acme?tab=flagged`);
    expect(await page.getByRole('status').textContent()).toBe('Removed 1 flagged member.');
    expect(await page.getByText('No flagged members. Nothing needs removing.').count()).toBe(1);
  });

  it('offers add and invite for an organization no connection governs', async () => {
    await page.goto(`${t.url}/admin/organizations/globex`);
    await page.getByLabel('Existing user\'s email').fill('ada@acme.com');
    await submit(page, () => page.getByRole('button', { name: 'Add member' }).click());
    expect(page.url()).toBe(`${t.url}/admin/organizations/globex`);
    expect(await page.getByRole('status').textContent()).toBe('Added ada@acme.com as member.');
    expect(await page.getByRole('row', { name: /Ada Lovelace/ }).count()).toBe(1);
    await page.getByLabel('Invite by email').fill('new@globex.com');
    await page.getByLabel('Role').nth(1).selectOption('admin');
    await submit(page, () => page.getByRole('button', { name: 'Send invitation' }).click());
    expect(await page.getByRole('status').textContent()).toBe('Invited new@globex.com as admin.');
    await screenshotBoth(page, 'members-ungoverned');
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

  it('creates a SCIM directory and rotates its token, each new token shown once', async () => {
    await submit(page, () => page.getByRole('button', { name: 'Create SCIM directory' }).click());
    const first = await page.getByLabel('Bearer token', { exact: true }).inputValue();
    expect(first).toMatch(/^osd_/);
    await screenshotBoth(page, 'scim-token');
    await page.getByRole('link', { name: 'Back to connections' }).click();
    await page.waitForURL(`${t.url}/admin/connections`);
    const base = await page.getByLabel('SCIM base URL', { exact: true }).inputValue();
    expect(base).toMatch(new RegExp(`^${t.url}/scim/v2/`));
    await page.getByLabel('Old token keeps working for').selectOption('0');
    await submit(page, () => page.getByRole('button', { name: 'Rotate token' }).click());
    const second = await page.getByLabel('Bearer token', { exact: true }).inputValue();
    expect(second).not.toBe(first);
    const status = (token: string) => fetch(`${base}/Users?count=1`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    expect(await status(first)).toBe(401);
    expect(await status(second)).toBe(200);
    await page.goto(`${t.url}/admin/connections`);
  });

  it('shows the audit log with filters', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action').fill('connection.created');
    await submit(page, () => page.getByRole('button', { name: 'Filter' }).click());
    expect(page.url()).toContain('action=connection.created');
    expect(await page.locator('.audit-entry').count()).toBe(1);
    expect(await page.locator('.audit-entry .sentence').textContent()).toBe('orgsync created the connection acme-okta.');
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
    await submit(page, () => page.getByRole('button', { name: 'Sign out' }).click());
    expect(page.url()).toBe(`${t.url}/admin/sign-in`);
    await page.goto(`${t.url}/admin/organizations`);
    expect(page.url()).toBe(`${t.url}/admin/sign-in`);
    expect(pageErrors).toEqual([]);
  });
});
