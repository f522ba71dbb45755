import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, samlConnection, samlLogin } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';
import { flag } from '../helpers/admin-seed.js';

/** The page people land on after SSO, and the way to sign in when they are not. */
let t: TestApp;
afterEach(async () => {
  await t.close();
});

describe('/account', () => {
  let conn: { idp: SamlTestIdp; id: string };
  let orgs: Record<string, string>;

  beforeEach(async () => {
    t = await startTestApp();
    orgs = await createOrgs(t, 'acme', 'acme-sales');
    await t.api('PATCH', `/api/v1/organizations/${orgs['acme-sales']}`, { body: { display_name: 'Acme Sales' } });
    await t.api('PATCH', `/api/v1/organizations/${orgs.acme}`, { body: { display_name: 'Acme Corporation' } });
    conn = await samlConnection(t, {
      membership_rules: [
        { organization: 'acme', role: 'admin' },
        { organization: 'acme-sales', role: 'member', groups: ['Sales'] },
      ],
    });
  });
  afterEach(async () => {
    await conn.idp.stop();
  });

  it('offers a way to sign in: the email finds the connection that verified its domain', async () => {
    const anonymous = await fetch(`${t.url}/account`);
    expect(anonymous.status).toBe(200);
    const form = await anonymous.text();
    expect(form).toContain('action="/sso/start"');
    expect(form).toContain('name="email"');

    const start = await fetch(`${t.url}/sso/start?email=Alice%40ACME.com&return_to=%2Faccount`, { redirect: 'manual' });
    // A page that moves on by itself, not a redirect, so CSP form-action does not stop the IdP's redirects.
    expect(start.status).toBe(200);
    const loginUrl = `${t.url}/sso/saml/${conn.id}/login?return_to=%2Faccount`;
    expect(await start.text()).toContain(`<meta http-equiv="refresh" content="0;url=${loginUrl}">`);
    const json = await fetch(`${t.url}/sso/start?email=alice%40acme.com`, { headers: { accept: 'application/json' } });
    expect(await json.json()).toEqual({ login_url: loginUrl });

    const unknown = await fetch(`${t.url}/sso/start?email=%3Cb%3Eeve%40nowhere.test&return_to=%2Faccount`);
    expect(unknown.status).toBe(404);
    const text = await unknown.text();
    expect(text).toContain('No sign-in connection has verified the domain of &lt;b&gt;eve@nowhere.test');
    expect(text).not.toContain('<b>eve');
    // return_to stays on this site whatever is asked for.
    const away = await fetch(`${t.url}/sso/start?email=alice%40acme.com&return_to=%2F%2Fevil.example%2F`);
    expect(await away.text()).toContain(`content="0;url=${t.url}/sso/saml/${conn.id}/login?return_to=%2Faccount"`);
  });

  it('shows display names, human labels for roles and reasons, and readable dates', async () => {
    const alice = { nameId: 'alice@acme.com', email: 'alice@acme.com', name: 'Alice Anders', groups: ['Sales'] };
    const { browser } = await samlLogin(t, conn, alice, '/account');
    const userId = (await t.container.db('users').where({ email_lower: 'alice@acme.com' }).first()).id as string;
    await flag(t, orgs['acme-sales']!, userId, 'idp_group_removed', 'PATCH Groups remove member');
    const page = (await browser.request('GET', `${t.url}/account`)).text;
    expect(page).toContain('<strong>Acme Corporation</strong> <span class="badge">Admin</span>');
    expect(page).toContain('<strong>Acme Sales</strong> <span class="badge">Member</span>');
    expect(page).toContain('Removed from the granting group');
    expect(page).not.toContain('idp_group_removed');
    expect(page).toContain('Added to Acme Sales as member');
    // "6 Dec 2026, 14:03 UTC" with the exact instant kept in the datetime attribute.
    expect(page).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[^"]+">\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC<\/time>/);
    expect(page).not.toMatch(/>\d{4}-\d\d-\d\dT/);
  });
});
