import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { hasChromium, launchBrowser, VIEWPORTS } from '../helpers/browser.js';
import { BrowserWatch } from '../helpers/browser-watch.js';
import { seedAdminData, type AdminSeed } from '../helpers/admin-seed.js';
import { FakeGraph } from '../helpers/fake-graph.js';

/** Clicks a control that submits a form and waits for the page the answer (or its redirect) lands on. */
async function submit(page: Page, click: () => Promise<void>): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), click()]);
}

/**
 * An admin sets up a Microsoft Graph directory from the admin page in Chromium, against the local
 * Graph: a refused Google key first (nothing created), then the Graph form, Sync now, the status and
 * counts, and a suspension that shows up flagged in the organization's sync report with the run.
 * Every page is checked at 1366 px and 390 px: no CSP violation, no failed request, no sideways scroll.
 */
const HOST = 'orgsync-admin.test';

describe.skipIf(!hasChromium)('admin page: pulled directory in headless Chromium', () => {
  let t: TestApp;
  let seed: AdminSeed;
  let graph: FakeGraph;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const watch = new BrowserWatch('test-results/admin-pull');
  const base = () => t.container.config.publicUrl;

  beforeAll(async () => {
    // Served under a host name over plain http (not 127.0.0.1, which Chromium treats as secure).
    t = await startTestApp({ publicHost: HOST });
    seed = await seedAdminData(t);
    graph = await new FakeGraph().start();
    graph.addUser({ id: 'u-ada', displayName: 'Ada Lovelace', userPrincipalName: 'ada@acme.com', mail: 'ada@acme.com', accountEnabled: true });
    graph.addUser({ id: 'u-grace', displayName: 'Grace Hopper', userPrincipalName: 'grace@acme.com', mail: 'grace@acme.com', accountEnabled: true });
    browser = await launchBrowser({ hosts: [HOST] });
    context = await browser.newContext({ viewport: VIEWPORTS.laptop });
    await watch.attach(context);
    page = await context.newPage();
    await page.goto(`${base()}/admin/sign-in`);
    await page.getByLabel('API key').fill(t.adminKey);
    await submit(page, () => page.getByRole('button', { name: 'Sign in' }).click());
  });
  afterAll(async () => {
    await browser?.close();
    await graph?.close();
    await t?.close();
  });

  /** Both widths: the watch records sideways scroll, CSP violations and failed requests. */
  async function checkBoth(name: string): Promise<void> {
    for (const [label, size] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(size);
      await watch.check(page, `${name}-${label}`);
    }
    await page.setViewportSize(VIEWPORTS.laptop);
    expect(watch.problems).toEqual([]);
  }

  const directories = () => t.container.db('directories').where({ connection_id: seed.connectionId });

  it('refuses a bad Google service account key with a clear message and creates nothing', async () => {
    await page.goto(`${base()}/admin/connections`);
    await checkBoth('connections-without-directory');
    await page.getByRole('link', { name: 'Pull from Google Workspace' }).click();
    await page.waitForURL(/\/directory\/new\?kind=google_workspace$/);
    await checkBoth('google-form');
    await page.getByLabel('Service account JSON key file').setInputFiles({ name: 'key.json', mimeType: 'application/json', buffer: Buffer.from('{"type": "service_account", "project_id": "acme"}') });
    await page.getByLabel('Admin email to impersonate').fill('admin@acme.com');
    await submit(page, () => page.getByRole('button', { name: 'Create Google Workspace directory' }).click());
    const alert = page.getByRole('alert');
    expect(await alert.textContent()).toContain('Upload or paste the JSON key file of the service account as Google gave it, with its client_email and private_key.');
    expect(await page.getByLabel('Service account JSON key file').getAttribute('aria-invalid')).toBeNull();
    expect(await page.getByLabel('Or paste the JSON key').getAttribute('aria-invalid')).toBe('true');
    // The typed admin email is kept; the key is not sent back.
    expect(await page.getByLabel('Admin email to impersonate').inputValue()).toBe('admin@acme.com');
    await checkBoth('google-form-error');
    expect(await directories()).toHaveLength(0);
  });

  it('creates a Microsoft Graph directory, syncs it now, and shows its status and counts; the secret never comes back', async () => {
    await page.getByRole('link', { name: 'Microsoft Graph' }).click();
    await page.waitForURL(/kind=microsoft_graph$/);
    await page.getByLabel('Name').fill('Acme Entra');
    await page.getByLabel('Tenant ID').fill('tenant-1');
    await page.getByLabel('Client ID').fill('app-1');
    await page.getByLabel('Client secret').fill('graph-secret');
    await page.getByText('Other endpoints (sovereign clouds, proxies)').click();
    await page.getByLabel('API base URL').fill(graph.apiBase);
    await page.getByLabel('Token URL').fill(graph.tokenUrl);
    await checkBoth('graph-form');
    await submit(page, () => page.getByRole('button', { name: 'Create Microsoft Graph directory' }).click());
    expect(page.url()).toBe(`${base()}/admin/connections#c-${seed.connectionId}-title`);
    expect(await page.getByRole('status').first().textContent()).toContain('Microsoft Graph directory \u201cAcme Entra\u201d created.');
    expect(await directories()).toHaveLength(1);

    await submit(page, () => page.getByRole('button', { name: 'Sync now' }).click());
    expect(await page.getByRole('status').first().textContent()).toContain('Sync of \u201cAcme Entra\u201d started.');
    await expect
      .poll(async () => {
        await page.reload();
        return page.locator('.sync-status').textContent();
      }, { timeout: 15_000 })
      .toMatch(/succeeded, 3 requests/);
    const card = page.locator(`section[aria-labelledby="c-${seed.connectionId}-title"]`);
    expect(await card.textContent()).toContain('2 users and 0 groups pulled');
    expect(await card.locator('.sync-status').textContent()).toContain('created: 2');
    expect(await card.textContent()).toContain('stored encrypted (never shown)');
    expect(await page.content()).not.toContain('graph-secret');
    await checkBoth('graph-synced');
  });

  it("flags a suspended user and shows the run in the organization's sync report", async () => {
    graph.updateUser('u-grace', { accountEnabled: false });
    await page.goto(`${base()}/admin/connections`);
    await submit(page, () => page.getByRole('button', { name: 'Sync now' }).click());
    await expect
      .poll(async () => {
        await page.reload();
        return page.locator('.sync-status').textContent();
      }, { timeout: 15_000 })
      .toMatch(/deactivated: 1/);

    await page.goto(`${base()}/admin/organizations/acme/report`);
    const grace = page.getByRole('row', { name: /Grace Hopper/ });
    expect(await grace.textContent()).toContain('idp_deactivated');
    expect(await grace.textContent()).toContain('Microsoft Graph user suspended');
    const run = page.locator('tr.pull-run');
    expect(await run.count()).toBe(1);
    expect(await run.textContent()).toContain('Acme Entra');
    expect(await run.textContent()).toContain('1 flagged');
    expect(await run.getAttribute('data-status')).toBe('succeeded');
    await checkBoth('report-with-pull');
  });
});
