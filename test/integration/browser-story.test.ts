import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { hasChromium, launchBrowser, VIEWPORTS } from '../helpers/browser.js';
import { BrowserWatch } from '../helpers/browser-watch.js';
import { addMember, flag, seedAdminData, type AdminSeed } from '../helpers/admin-seed.js';
import { SamlTestIdp } from '../helpers/saml-idp.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { WebhookWorker } from '../../src/modules/webhooks/worker.js';

/**
 * Everything a person does in a browser, in Debian's Chromium, at laptop and phone width, over
 * plain http on 127.0.0.1 and on a host name that is not localhost (where Chromium applies
 * upgrade-insecure-requests): the landing page, admin sign-in with an API key and through the
 * owner's SSO, removal, report, audit, connections, webhooks, /account sign-in and sign-out.
 * Any CSP violation, failed or blocked request, request upgraded to https or sideways scroll fails
 * it; screenshots go to test-results/browser-story/ for a person to look at.
 */
const HOSTS = ['orgsync.test', '127.0.0.1'] as const;

interface Story {
  t: TestApp;
  seed: AdminSeed;
  idp: SamlTestIdp;
  receiver: Receiver;
  base: string;
}

/** The admin seed, with its connection pointed at a real SAML IdP, an organization Ada loses at login, a failing webhook. */
async function setUp(host: (typeof HOSTS)[number]): Promise<Story> {
  const t = await startTestApp({ publicHost: host === '127.0.0.1' ? undefined : host, env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
  const seed = await seedAdminData(t);
  const labs = (await t.api('POST', '/api/v1/organizations', { body: { name: 'acme-labs', display_name: 'Acme Labs' } })).body;
  const idp = new SamlTestIdp();
  await idp.start();
  const patched = await t.api('PATCH', `/api/v1/connections/${seed.connectionId}`, {
    body: {
      idp: { metadata_xml: idp.metadataXml() },
      membership_rules: [
        { organization: 'acme', role: 'owner', groups: ['acme-admins'] },
        { organization: 'acme', role: 'member' },
        { organization: 'acme-labs', role: 'member', groups: ['labs'] },
      ],
    },
  });
  expect(patched.status, patched.text).toBe(200);
  idp.spMetadata = await (await fetch(`${t.url}/sso/saml/${seed.connectionId}/metadata`)).text();
  idp.user = { nameId: 'ada@acme.com', email: 'ada@acme.com', name: 'Ada Lovelace', groups: ['acme-admins'] };
  // Ada is in Acme Labs now; her next sign-in no longer grants it, so it is flagged then.
  await addMember(t, labs.id, seed.users.ada!, 'member', 'sso');
  await flag(t, seed.globex.id, seed.users.hal!, 'not_in_directory', 'reconcile');
  const receiver = await startReceiver(() => ({ status: 500, body: 'receiver down' }));
  await t.api('POST', '/api/v1/webhooks', { body: { url: `${receiver.url}/hook`, events: ['membership.removed'] } });
  return { t, seed, idp, receiver, base: t.container.config.publicUrl };
}

async function submit(page: Page, click: () => Promise<void>): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), click()]);
}

async function story(browser: Browser, host: (typeof HOSTS)[number], width: keyof typeof VIEWPORTS): Promise<void> {
  const s = await setUp(host);
  const watch = new BrowserWatch(`test-results/browser-story/${host}-${width}`);
  const context = await browser.newContext({ viewport: VIEWPORTS[width] });
  await watch.attach(context);
  const page = await context.newPage();
  const worker = new WebhookWorker(s.t.container, { random: () => 1 });
  try {
    // The landing page, then the admin page with an API key.
    await page.goto(`${s.base}/`);
    await watch.check(page, 'landing');
    await submit(page, () => page.getByRole('link', { name: 'Admin page' }).click());
    expect(page.url()).toBe(`${s.base}/admin/sign-in`);
    // The stylesheet applied: the header bar is dark, not the browser's default.
    expect(await page.locator('header.top').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(20, 33, 61)');
    await watch.check(page, 'admin-sign-in');
    await page.getByLabel('API key').fill(s.t.adminKey);
    await submit(page, () => page.getByRole('button', { name: 'Sign in' }).click());
    expect(page.url()).toBe(`${s.base}/admin/organizations`);
    await watch.check(page, 'organizations');

    // Removal of a flagged member through the dialog.
    await submit(page, () => page.getByRole('link', { name: 'Acme Corporation' }).click());
    await submit(page, () => page.getByRole('link', { name: /Flagged/ }).click());
    await watch.check(page, 'members-flagged');
    await page.getByRole('link', { name: 'Remove Linus Torvalds (linus@acme.com)' }).click();
    const dialog = page.getByRole('dialog', { name: 'Please confirm' });
    await dialog.waitFor();
    await submit(page, () => dialog.getByRole('button', { name: 'Remove member' }).click());
    expect(await page.getByRole('status').textContent()).toBe('Removed Linus Torvalds from Acme Corporation.');
    await watch.check(page, 'members-after-removal');

    // The report with its chart, the audit log with an entry expanded.
    await submit(page, () => page.getByRole('link', { name: 'Sync report' }).click());
    await page.locator('svg.activity').waitFor();
    expect(await page.locator('#activity-total-removed').textContent()).toBe('1');
    await watch.check(page, 'report');
    await submit(page, () => page.getByRole('link', { name: 'Audit log' }).click());
    await page.locator('.audit-entry summary').first().click();
    expect(await page.locator('.audit-entry').first().textContent()).toContain('removed Linus Torvalds (linus@acme.com) from Acme Corporation');
    await watch.check(page, 'audit');

    // Connections: create the SCIM directory (token shown once), back to the list.
    await submit(page, () => page.getByRole('link', { name: 'Connections' }).click());
    await watch.check(page, 'connections');
    await submit(page, () => page.getByRole('button', { name: 'Create SCIM directory' }).click());
    expect(await page.getByLabel('Bearer token', { exact: true }).inputValue()).toMatch(/^osd_/);
    await watch.check(page, 'scim-token');

    // Webhooks: the removal's delivery failed; redeliver it.
    await worker.tick();
    await page.goto(`${s.base}/admin/webhooks`);
    await watch.check(page, 'webhooks');
    await submit(page, () => page.getByRole('button', { name: 'Redeliver' }).first().click());
    await watch.check(page, 'webhooks-redelivered');
    await submit(page, () => page.getByRole('button', { name: 'Sign out' }).click());
    expect(page.url()).toBe(`${s.base}/admin/sign-in`);

    // The owner signs in through SSO from the same page: the hand-off, the IdP, back to the admin page.
    await page.getByLabel('Work email').fill('ada@acme.com');
    await page.getByRole('button', { name: 'Continue with SSO' }).click();
    await page.waitForURL(`${s.base}/admin/organizations`);
    expect(await page.locator('.who').textContent()).toContain('ada@acme.com');
    await watch.check(page, 'owner-organizations');
    await submit(page, () => page.getByRole('link', { name: 'Acme Corporation' }).click());
    await watch.check(page, 'owner-members');
    await submit(page, () => page.getByRole('button', { name: 'Sign out' }).click());

    // /account: signed out it offers SSO by email; signed in it shows access, the flag, the sync.
    const anonymous = await page.goto(`${s.base}/account`);
    expect(anonymous?.status()).toBe(200);
    await watch.check(page, 'account-signed-out');
    await page.getByLabel('Work email').fill('ada@acme.com');
    await page.getByRole('button', { name: 'Continue with SSO' }).click();
    await page.waitForURL(`${s.base}/account`);
    await watch.check(page, 'account');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Signed in as Ada Lovelace');
    expect(await page.getByRole('heading', { name: 'Flagged access' }).count()).toBe(1);
    expect(await page.locator('body').textContent()).toContain('Acme Labs');
    const signedOut = page.waitForResponse((r) => r.url() === `${s.base}/logout`);
    await submit(page, () => page.getByRole('button', { name: 'Sign out' }).click());
    expect((await signedOut).status()).toBe(303);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    await watch.check(page, 'account-after-sign-out');
    expect(watch.problems).toEqual([]);
  } catch (err) {
    await page.screenshot({ path: `test-results/browser-story/${host}-${width}/failed.png`, fullPage: true }).catch(() => undefined);
    // A step that failed because of something the browser refused: say what it refused.
    if (watch.problems.length && err instanceof Error) err.message += `\nWhat the browser reported:\n${watch.problems.join('\n')}`;
    throw err;
  } finally {
    await worker.stop();
    await context.close();
    await s.receiver.close();
    await s.idp.stop();
    await s.t.close();
  }
}

describe.skipIf(!hasChromium)('every page and form in headless Chromium', { timeout: 180_000 }, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser({ hosts: ['orgsync.test'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  for (const host of HOSTS) {
    for (const width of ['laptop', 'phone'] as const) {
      it(`over http on ${host} at ${VIEWPORTS[width].width} px`, () => story(browser, host, width));
    }
  }
});
