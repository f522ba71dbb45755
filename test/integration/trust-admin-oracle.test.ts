import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, samlConnection, samlLogin } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';
import type { Browser, Hop } from '../helpers/sso-browser.js';
import { addMember, createUser } from '../helpers/admin-seed.js';
import { AdminClient } from '../helpers/admin-client.js';

/**
 * Tenant trust (SPEC §2, issue "no oracle"): an owner of customer A's organizations, signed in to
 * the admin page through A's SSO, must not learn whether an email has an account elsewhere on the
 * instance (customer B's people), nor reach those accounts. Every lookup by email answers "not
 * here" the same way for an account in another organization and for no account at all.
 */
let t: TestApp;
let conn: { idp: SamlTestIdp; id: string };
let orgs: Record<string, string>;
let browser: Browser;
let vera: string;
let pete: string;

const owner = { nameId: 'olga@acme.com', email: 'olga@acme.com', groups: ['acme-admins'] };

beforeEach(async () => {
  t = await startTestApp();
  orgs = await createOrgs(t, 'acme', 'acme-partners', 'globex');
  conn = await samlConnection(t, { membership_rules: [{ organization: 'acme', role: 'owner', groups: ['acme-admins'] }, { organization: 'acme', role: 'member' }] });
  ({ browser } = await samlLogin(t, conn, owner, '/admin'));
  const olga = (await t.container.db('users').where({ email_lower: 'olga@acme.com' }).first()).id as string;
  // Olga also owns an organization no connection governs, where the add-member form exists.
  expect((await t.api('POST', `/api/v1/organizations/${orgs['acme-partners']}/members`, { body: { members: [olga], role: 'owner' } })).status).toBe(204);
  // Customer B's person, and a member of one of Olga's organizations.
  vera = await createUser(t, 'vera@globex.com', 'Vera Victim');
  await addMember(t, orgs.globex!, vera, 'owner', 'manual');
  pete = await createUser(t, 'pete@acme.com', 'Pete Plain');
  await addMember(t, orgs.acme!, pete, 'member', 'sso');
});
afterEach(async () => {
  await conn.idp.stop();
  await t.close();
});

const csrfOf = (hop: Hop) => /name="_csrf" value="([^"]+)"/.exec(hop.text)![1]!;

/** Posts the add-member form of `org` and returns the page it lands on (the flash message). */
async function addByEmail(org: string, email: string): Promise<Hop> {
  const page = await browser.request('GET', `${t.url}/admin/organizations/${org}`);
  expect(page.status).toBe(200);
  const res = await browser.request('POST', `${t.url}/admin/organizations/${org}/members/add`, {
    body: new URLSearchParams({ _csrf: csrfOf(page), email, role: 'owner' }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url },
  });
  expect(res.status).toBe(303);
  return browser.request('GET', new URL(res.headers.get('location')!, t.url).href);
}

/** The flash line of a page, with the email it echoes replaced, so two answers can be compared. */
const flashOf = (hop: Hop, email: string) => (/<p class="flash[^"]*"[^>]*>([^<]*)<\/p>/.exec(hop.text)?.[1] ?? '').replaceAll(email, '<email>');
const scrubbed = (hop: Hop, needle: string) => ({ status: hop.status, text: hop.text.replaceAll(needle, '<x>').replace(/name="_csrf" value="[^"]+"/g, '') });

describe('an SSO-signed-in organization owner has no existence oracle', () => {
  it('the add-member form answers the same for an account in another organization and for no account, and adds neither', async () => {
    const elsewhere = await addByEmail('acme-partners', 'vera@globex.com');
    const nowhere = await addByEmail('acme-partners', 'nobody@globex.com');
    expect(flashOf(elsewhere, 'vera@globex.com')).toBe(flashOf(nowhere, 'nobody@globex.com'));
    expect(flashOf(nowhere, 'nobody@globex.com')).toMatch(/No member of your organizations has the email/);
    expect(scrubbed(elsewhere, 'vera@globex.com')).toEqual(scrubbed(nowhere, 'nobody@globex.com'));
    // Vera was not pulled into Olga's organization.
    expect(await t.container.db('memberships').where({ user_id: vera })).toHaveLength(1);

    // People of Olga's own organizations can still be added by email.
    const added = await addByEmail('acme-partners', 'PETE@acme.com');
    expect(flashOf(added, 'pete@acme.com')).toMatch(/Added <email> as owner/);
    expect(await t.container.db('memberships').where({ user_id: pete, organization_id: orgs['acme-partners'] })).toHaveLength(1);
  });

  it('the audit log filter by email or id answers the same for an account in another organization and for no account', async () => {
    // Something in the log about Vera, in B's organization.
    expect((await t.api('DELETE', `/api/v1/organizations/${orgs.globex}/members/${vera}`)).status).toBe(204);

    const byEmail = async (email: string) => browser.request('GET', `${t.url}/admin/audit?user=${encodeURIComponent(email)}`);
    const elsewhere = await byEmail('vera@globex.com');
    const nowhere = await byEmail('nobody@globex.com');
    expect(scrubbed(elsewhere, 'vera@globex.com')).toEqual(scrubbed(nowhere, 'nobody@globex.com'));
    expect(nowhere.text).toContain('No member of your organizations has the email');

    const byId = async (id: string) => browser.request('GET', `${t.url}/admin/audit?user=${id}`);
    const unknownId = t.container.ids.uuid();
    expect(scrubbed(await byId(vera), vera)).toEqual(scrubbed(await byId(unknownId), unknownId));

    // A member of Olga's organization resolves.
    const own = await byEmail('pete@acme.com');
    expect(own.status).toBe(200);
    expect(own.text).not.toContain('No member of your organizations');

    // An API-key admin is the instance operator and still looks up any account.
    const a = new AdminClient(t.url);
    await a.signIn(t.adminKey);
    expect((await a.get('/admin/audit?user=vera%40globex.com')).status).toBe(200);
    const missing = await a.get('/admin/audit?user=nobody%40globex.com');
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('No user with email');
  });
});
