import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';
import { hasChromium, launchBrowser, VIEWPORTS } from '../helpers/browser.js';
import { createOrgs } from '../helpers/sso-setup.js';
import { hasSimpleSamlPhp, SimpleSamlPhpIdp } from '../helpers/simplesamlphp.js';
import { BrowserWatch } from '../helpers/browser-watch.js';

/**
 * SimpleSAMLphp (Debian package) releasing groups the way LDAP-backed IdPs do: `memberOf` with LDAP
 * DNs and `isMemberOf` with plain names, under their basic attribute names. The connection keeps
 * the default attribute mapping; the rules name a CN, a DN spelled another way, and an isMemberOf
 * value. People sign in through SimpleSAMLphp's own login page in Chromium.
 */
describe.skipIf(!hasChromium || !hasSimpleSamlPhp)('LDAP-style group attributes from SimpleSAMLphp, signed in through Chromium', () => {
  let t: TestApp;
  let idp: SimpleSamlPhpIdp;
  let browser: Browser;
  let connectionId: string;
  const dana = {
    username: 'dana',
    password: 'dana-pass',
    attributes: {
      uid: ['dana'],
      mail: ['dana@acme.com'],
      displayName: ['Dana Dietz'],
      memberOf: ['CN=Engineering,OU=Groups,DC=acme,DC=com', 'CN=R&D\\, Europe,OU=Groups,DC=acme,DC=com', 'CN=Domain Users,CN=Users,DC=acme,DC=com'],
      isMemberOf: ['urn:mace:acme.com:groups:sales'],
    },
  };
  const ivan = { username: 'ivan', password: 'ivan-pass', attributes: { uid: ['ivan'], mail: ['ivan@acme.com'], memberOf: ['uid=42+CN=Interns,OU=Temporary,DC=acme,DC=com'] } };

  beforeAll(async () => {
    t = await startTestApp();
    idp = new SimpleSamlPhpIdp([dana, ivan]);
    await idp.start();
    await createOrgs(t, 'acme-eng', 'acme-sales', 'acme-ops');
    const conn = await t.api('POST', '/api/v1/connections', {
      body: {
        name: 'acme-ldap-idp',
        type: 'saml',
        domains: ['acme.com'],
        idp: { metadata_xml: await idp.metadataXml() },
        group_dn_match: 'cn',
        membership_rules: [
          { organization: 'acme-eng', role: 'admin', groups: ['Engineering'] },
          { organization: 'acme-ops', role: 'member', groups: ['cn=R\\26D\\2C Europe, ou=Groups, dc=acme, dc=com'] },
          { organization: 'acme-sales', role: 'member', groups: ['urn:mace:acme.com:groups:sales'] },
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

  async function signIn(user: { username: string; password: string }) {
    const context = await browser.newContext({ viewport: VIEWPORTS.laptop });
    const page = await context.newPage();
    await page.goto(`${t.url}/sso/saml/${connectionId}/login`);
    expect(page.url(), idp.output()).toContain(idp.url);
    await page.locator('input[name="username"]').fill(user.username);
    await page.locator('input[name="password"]').fill(user.password);
    await Promise.all([page.waitForURL(`${t.url}/account`, { timeout: 30_000 }), page.locator('form').first().evaluate((f: HTMLFormElement) => f.requestSubmit())]);
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    await context.close();
    return me as { organizations: { name: string; role: string }[]; last_sync_run: { group_matching: unknown } };
  }

  it('grants by a DN\'s CN, by a DN spelled another way, and by isMemberOf, with the default attribute mapping', async () => {
    const me = await signIn(dana);
    expect(me.organizations.map((o) => `${o.name}:${o.role}`).sort()).toEqual(['acme-eng:admin', 'acme-ops:member', 'acme-sales:member']);
    expect(me.last_sync_run.group_matching).toEqual({ unmatched: null, matched_by_cn: [{ group: 'Engineering', dns: ['CN=Engineering,OU=Groups,DC=acme,DC=com'] }] });
  });

  it('a sign-in whose groups match no rule gets no membership and leaves the warning on the connection', async () => {
    const me = await signIn(ivan);
    expect(me.organizations).toEqual([]);
    const w = (await t.api('GET', `/api/v1/connections/${connectionId}`)).body.group_warnings;
    expect(w.unmatched).toMatchObject({ logins: 1, attributes: [{ name: 'memberOf', mapped: true, sample: ['uid=42+CN=Interns,OU=Temporary,DC=acme,DC=com'] }] });
    const admin = new AdminClient(t.url);
    await admin.signIn(t.adminKey);
    expect((await admin.get('/admin/connections')).text).toContain('1 of the last 2 sign-ins through acme-ldap-idp carried groups that matched no membership rule');
  });

  it('shows the warning with its long DN samples on a phone without sideways scrolling', async () => {
    const watch = new BrowserWatch('test-results/simplesamlphp-groups');
    const context = await browser.newContext({ viewport: VIEWPORTS.phone });
    await watch.attach(context);
    const page = await context.newPage();
    await page.goto(`${t.url}/admin/sign-in`);
    await page.getByLabel('API key').fill(t.adminKey);
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: 'Sign in' }).click()]);
    for (const path of ['/admin/connections', '/admin/organizations/acme-eng/report']) {
      await page.goto(`${t.url}${path}`);
      const warning = page.locator('[data-warning="groups_matched_no_rule"]');
      expect(await warning.textContent(), path).toContain('uid=42+CN=Interns,OU=Temporary,DC=acme,DC=com');
      expect(await warning.textContent(), path).toContain('No membership rule names any of these values');
      await watch.check(page, path.replace(/\W+/g, '-'));
    }
    expect(watch.problems, watch.problems.join('\n')).toEqual([]);
    await context.close();
  });
});
