import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { hasChromium, launchBrowser, VIEWPORTS } from '../helpers/browser.js';
import { createOrgs } from '../helpers/sso-setup.js';
import { GlewlwydOp, hasGlewlwyd, type GlewlwydUser } from '../helpers/glewlwyd.js';

/**
 * A person signs in through glewlwyd's own login page, in Chromium: orgsync knows the OP only by its
 * issuer (discovery) and a client registered the way glewlwyd registers clients by default, which
 * allows `client_secret_basic` alone at the token endpoint (the OIDC default). The login sync follows
 * the `groups` claim: a change of groups at the OP re-roles, and losing a group flags.
 */
describe.skipIf(!hasChromium || !hasGlewlwyd)('sign-in through glewlwyd (Debian package) in Chromium', () => {
  let t: TestApp;
  let op: GlewlwydOp;
  let browser: Browser;
  let connectionId: string;
  const problems: string[] = [];
  const alice: GlewlwydUser = { username: 'alice', password: 'alice-pass-1234', name: 'Alice Anders', email: 'alice@acme.com', groups: ['Engineering', 'Sales'] };

  beforeAll(async () => {
    t = await startTestApp();
    op = new GlewlwydOp();
    await op.start();
    await op.addUser(alice);
    await createOrgs(t, 'acme-eng', 'acme-sales');
    const clientSecret = `secret-${Math.random().toString(36).slice(2)}-0123456789`;
    const conn = await t.api('POST', '/api/v1/connections', {
      body: {
        name: 'acme-glewlwyd',
        type: 'oidc',
        domains: ['acme.com'],
        idp: { issuer: op.issuer, client_id: 'orgsync-acme', client_secret: clientSecret, scopes: ['openid'] },
        membership_rules: [
          { organization: 'acme-eng', role: 'admin', groups: ['Engineering'] },
          { organization: 'acme-sales', role: 'member', groups: ['Sales'] },
        ],
      },
    });
    expect(conn.status, conn.text).toBe(201);
    connectionId = conn.body.id;
    await op.addClient({ clientId: 'orgsync-acme', clientSecret, redirectUri: conn.body.sp.redirect_uri, authMethods: ['client_secret_basic'] });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await op?.stop();
    await t?.close();
  });

  async function signIn(id = connectionId, user = alice): Promise<Page> {
    const context = await browser.newContext({ viewport: VIEWPORTS.laptop });
    const page = await context.newPage();
    // Our pages must be clean; the OP's own pages are not ours to judge.
    page.on('console', (m) => {
      if (m.type() === 'error' && m.location().url.startsWith(t.url) && !m.location().url.endsWith('/favicon.ico')) problems.push(`${m.location().url}: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && r.url().startsWith(t.url) && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${t.url}/sso/oidc/${id}/login`);
    // glewlwyd's own login page (a single-page app), then its "Connection to <client>" step.
    expect(page.url(), op.output()).toContain(`${op.url}/login.html`);
    await page.locator('input#username').fill(user.username);
    await page.locator('input#password').fill(user.password);
    await page.locator('button#loginbut').click();
    await Promise.all([page.waitForURL((u) => u.href.startsWith(t.url), { timeout: 30_000 }), page.locator('button[title="Continue to client application"]').click()]);
    await page.waitForLoadState('load');
    return page;
  }

  it('signs Alice in with client_secret_basic and syncs her groups into organizations and roles', async () => {
    const page = await signIn();
    expect(page.url(), await page.locator('body').textContent() ?? '').toBe(`${t.url}/account`);
    expect(await page.locator('body').textContent()).toContain('Alice Anders');
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    expect(me.user.email).toBe('alice@acme.com');
    expect(me.organizations.map((o: { name: string; role: string }) => `${o.name}:${o.role}`).sort()).toEqual(['acme-eng:admin', 'acme-sales:member']);
    expect(problems, problems.join('\n')).toEqual([]);
    await page.context().close();
  });

  it('flags the organization whose group glewlwyd took away, at the next sign-in', async () => {
    await op.setGroups(alice, ['Engineering']);
    const page = await signIn();
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    expect(me.organizations.map((o: { name: string }) => o.name)).toEqual(['acme-eng']);
    expect(me.flagged).toMatchObject([{ name: 'acme-sales', reason: 'login_lost_grant' }]);
    expect(problems, problems.join('\n')).toEqual([]);
    await page.context().close();
  });

  it('uses client_secret_post when the connection says so, for a client glewlwyd restricts to it', async () => {
    const clientSecret = `secret-${Math.random().toString(36).slice(2)}-0123456789`;
    const conn = await t.api('POST', '/api/v1/connections', {
      body: { name: 'acme-glewlwyd-post', type: 'oidc', domains: ['post.acme.com'], idp: { issuer: op.issuer, client_id: 'orgsync-acme-post', client_secret: clientSecret, scopes: ['openid'], token_endpoint_auth_method: 'client_secret_post' } },
    });
    expect(conn.status, conn.text).toBe(201);
    expect(conn.body.idp.token_endpoint_auth_method).toBe('client_secret_post');
    await op.addClient({ clientId: 'orgsync-acme-post', clientSecret, redirectUri: conn.body.sp.redirect_uri, authMethods: ['client_secret_post'] });
    const bob: GlewlwydUser = { username: 'bob', password: 'bob-pass-12345', name: 'Bob Brown', email: 'bob@post.acme.com', groups: [] };
    await op.addUser(bob);
    const page = await signIn(conn.body.id, bob);
    expect(page.url(), (await page.locator('body').textContent()) ?? '').toBe(`${t.url}/account`);
    expect(problems, problems.join('\n')).toEqual([]);
    await page.context().close();
  });
});
