import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { hasChromium, launchBrowser, VIEWPORTS } from '../helpers/browser.js';
import { createOrgs } from '../helpers/sso-setup.js';
import { hasSimpleSamlPhp, SimpleSamlPhpIdp } from '../helpers/simplesamlphp.js';

/**
 * SimpleSAMLphp as a customer runs it: orgsync is given only the URL where the IdP publishes its
 * metadata, and the IdP keeps its default NameID, a transient one that changes at every sign-in. Two
 * sign-ins through its real login page in Chromium land in one account, bound on the email.
 */
describe.skipIf(!hasChromium || !hasSimpleSamlPhp)('SimpleSAMLphp by metadata URL, transient NameID, in Chromium', () => {
  let t: TestApp;
  let idp: SimpleSamlPhpIdp;
  let browser: Browser;
  let connectionId: string;
  const dora = { username: 'dora', password: 'dora-pass', attributes: { uid: ['dora'], mail: ['dora@initech.com'], displayName: ['Dora Dunn'], eduPersonAffiliation: ['Staff'] } };

  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
    idp = new SimpleSamlPhpIdp([dora]);
    await idp.start();
    await createOrgs(t, 'initech');
    const conn = await t.api('POST', '/api/v1/connections', {
      body: {
        name: 'initech-simplesamlphp',
        type: 'saml',
        domains: ['initech.com'],
        idp: { metadata_url: idp.metadataUrl },
        attribute_mapping: { email: ['mail'], name: ['displayName'], groups: ['eduPersonAffiliation'] },
        membership_rules: [{ organization: 'initech', role: 'member', groups: ['Staff'] }],
      },
    });
    expect(conn.status, conn.text).toBe(201);
    expect(conn.body.idp.entity_id).toBe(idp.entityId);
    connectionId = conn.body.id;
    // No nameIdAttribute: SimpleSAMLphp sends its default NameID.
    idp.addSp({ entityId: conn.body.sp.entity_id, acsUrl: conn.body.sp.acs_url });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await idp?.stop();
    await t?.close();
  });

  async function signIn(): Promise<{ userId: string; orgs: string[] }> {
    const context = await browser.newContext({ viewport: VIEWPORTS.laptop });
    const page = await context.newPage();
    await page.goto(`${t.url}/sso/saml/${connectionId}/login`);
    expect(page.url(), idp.output()).toContain(idp.url);
    await page.locator('input[name="username"]').fill(dora.username);
    await page.locator('input[name="password"]').fill(dora.password);
    await Promise.all([page.waitForURL(`${t.url}/account`, { timeout: 30_000 }), page.locator('form').first().evaluate((f: HTMLFormElement) => f.requestSubmit())]);
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    await context.close();
    return { userId: me.user.id, orgs: me.organizations.map((o: { name: string }) => o.name) };
  }

  it('signs Dora in twice with two different transient NameIDs: one identity, one account', async () => {
    const first = await signIn();
    const second = await signIn();
    expect(second.userId).toBe(first.userId);
    expect(second.orgs).toEqual(['initech']);
    const identities = await t.container.db('identities').where({ connection_id: connectionId }).pluck('subject');
    expect(identities).toEqual(['dora@initech.com']);
    // Both sign-ins were bound on the email, not on the NameID of the day.
    const succeeded = await t.container.db('audit_events').where({ action: 'login.succeeded' }).pluck('detail');
    expect(succeeded.map((d: string | Record<string, unknown>) => (typeof d === 'string' ? JSON.parse(d) : d).subject)).toEqual(['dora@initech.com', 'dora@initech.com']);
  });

  it('refreshes from the same URL on demand: unchanged metadata changes nothing', async () => {
    const res = await t.api('POST', `/api/v1/connections/${connectionId}/metadata/refresh`);
    expect(res.body).toMatchObject({ ok: true, changed: false, error: null });
  });
});
