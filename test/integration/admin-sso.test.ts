import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, samlConnection, samlLogin } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';
import { createUser, addMember, flag } from '../helpers/admin-seed.js';

let t: TestApp;
let conn: { idp: SamlTestIdp; id: string };
let orgs: Record<string, string>;

beforeEach(async () => {
  t = await startTestApp();
  orgs = await createOrgs(t, 'acme', 'acme-eng', 'other');
  conn = await samlConnection(t, {
    membership_rules: [
      { organization: 'acme', role: 'owner', groups: ['acme-admins'] },
      { organization: 'acme', role: 'member' },
      { organization: 'acme-eng', role: 'member' },
    ],
  });
});
afterEach(async () => {
  await conn.idp.stop();
  await t.close();
});

const owner = { nameId: 'olga@acme.com', email: 'olga@acme.com', groups: ['acme-admins'] };
const plain = { nameId: 'pete@acme.com', email: 'pete@acme.com', groups: [] };

describe('admin page for organization owners and admins signed in through SSO', () => {
  it('starts SSO from the sign-in page by email domain and lands on the admin page', async () => {
    const res = await fetch(`${t.url}/admin/sso?email=olga%40ACME.com`, { redirect: 'manual' });
    // A page that moves on by itself, not a redirect: see sso-hand-off.ts (CSP form-action).
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`<meta http-equiv="refresh" content="0;url=${t.url}/sso/saml/${conn.id}/login?return_to=%2Fadmin%2Forganizations">`);
    const { browser, page } = await samlLogin(t, conn, owner, '/admin/organizations');
    expect(page.url).toBe(`${t.url}/admin/organizations`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Signed in as <strong>olga@acme.com</strong>');
    // Only the organization where the user is owner/admin; member-only organizations stay hidden.
    expect(page.text).toContain('href="/admin/organizations/acme"');
    expect(page.text).not.toContain('acme-eng');
    expect(page.text).not.toContain('>other<');
    expect(page.text).not.toContain('href="/admin/connections"');
    expect((await browser.request('GET', `${t.url}/admin/organizations/acme-eng`)).status).toBe(404);
    expect((await browser.request('GET', `${t.url}/admin/organizations/other/report`)).status).toBe(404);
    expect((await browser.request('GET', `${t.url}/admin/connections`)).status).toBe(403);
    const unknown = await fetch(`${t.url}/admin/sso?email=x%40nowhere.test`, { redirect: 'manual' });
    expect(unknown.headers.get('location')).toBe('/admin/sign-in');
  });

  it('lets the owner remove a flagged member of their organization, audited as that user', async () => {
    const { browser } = await samlLogin(t, conn, owner, '/admin');
    const olga = (await t.container.db('users').where({ email_lower: 'olga@acme.com' }).first()).id as string;
    const gone = await createUser(t, 'gone@acme.com', 'Gone Person');
    await addMember(t, orgs.acme!, gone, 'member', 'scim');
    await flag(t, orgs.acme!, gone, 'idp_deleted', 'DELETE /Users');
    const page = await browser.request('GET', `${t.url}/admin/organizations/acme?tab=flagged`);
    expect(page.text).toContain('Gone Person');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const res = await browser.request('POST', `${t.url}/admin/organizations/acme/members/${gone}/remove?tab=flagged`, {
      body: new URLSearchParams({ _csrf: csrf }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url },
    });
    expect(res.status).toBe(303);
    const audit = await t.api('GET', '/api/v1/audit-logs?action=membership.removed');
    expect(audit.body.audit_logs[0]).toMatchObject({ actor: { type: 'admin_page', id: olga }, target_user_id: gone });
    // An operator's API key removes another member of the same organization.
    const other = await createUser(t, 'other@acme.com', 'Other Person');
    await addMember(t, orgs.acme!, other, 'member', 'scim');
    expect((await t.api('DELETE', `/api/v1/organizations/acme/members/${other}`)).status).toBe(204);
    // The audit page shows this organization's events only, as sentences; the operator's key name stays out.
    const log = await browser.request('GET', `${t.url}/admin/audit`);
    expect(log.status).toBe(200);
    expect(log.text).toContain('membership.removed');
    expect(log.text).not.toContain(orgs['acme-eng']!);
    expect(log.text).toContain(`<strong>olga@acme.com</strong></span> on the admin page removed <span class="who" title="User id ${gone}"><strong>Gone Person</strong> (gone@acme.com)</span>`);
    expect(log.text).toContain(`An API key removed <span class="who" title="User id ${other}"><strong>Other Person</strong>`);
    expect(log.text).not.toContain('test-admin');
  });

  it('sends a plain member back to the sign-in page with the reason', async () => {
    const { browser } = await samlLogin(t, conn, plain, '/admin');
    const res = await browser.request('GET', `${t.url}/admin/organizations`);
    expect(res.status).toBe(303);
    const form = await browser.request('GET', `${t.url}/admin/sign-in`);
    expect(form.text).toContain('pete@acme.com is not an owner or admin of any organization.');
  });

  it('drops access as soon as the owner is flagged', async () => {
    const { browser } = await samlLogin(t, conn, owner, '/admin');
    const olga = (await t.container.db('users').where({ email_lower: 'olga@acme.com' }).first()).id as string;
    expect((await browser.request('GET', `${t.url}/admin/organizations`)).status).toBe(200);
    await flag(t, orgs.acme!, olga, 'idp_deactivated', 'PATCH active=false');
    expect((await browser.request('GET', `${t.url}/admin/organizations`)).status).toBe(303);
  });
});
