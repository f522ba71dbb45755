import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';
import { createOrgs, samlConnection, samlLogin } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';
import type { ManualClock } from '../../src/platform/clock.js';
import { OidcTestOp, signInAtOp } from '../helpers/oidc-op.js';
import { Browser } from '../helpers/sso-browser.js';
import { runCliHere } from '../helpers/cli.js';

/**
 * Groups under the names LDAP-backed IdPs use (`memberOf` with DNs, `isMemberOf`), matched by DN
 * or, per connection, by CN; and the warning a login leaves when it carried groups no rule matched.
 * Signed by the samlify test IdP with recorded attribute shapes (fixtures/saml/responses).
 */
const MEMBER_OF = 'responses/ldap.memberof-dns.template.xml';
const IS_MEMBER_OF = 'responses/basic.ismemberof.template.xml';
const ROLE_ONLY = 'responses/role-attribute-only.template.xml';

type Run = { id: string; group_matching: { unmatched: { attributes: Array<{ name: string; mapped: boolean; count: number; sample: string[] }>; would_match_by_cn: string[]; would_match_if_mapped: string[] } | null; matched_by_cn: Array<{ group: string; dns: string[] }> } | null };
type Me = { user: { id: string }; organizations: { name: string; role: string }[]; last_sync_run: Run };
const roles = (me: Me) => me.organizations.map((o) => `${o.name}:${o.role}`).sort();

let t: TestApp;
const idps: SamlTestIdp[] = [];
beforeEach(async () => {
  t = await startTestApp();
  await createOrgs(t, 'acme', 'acme-eng', 'acme-ops', 'beta');
});
afterEach(async () => {
  for (const idp of idps.splice(0)) await idp.stop();
  await t.close();
});

/** The admin fixes the connection a little after the sign-ins (the test clock stands still otherwise). */
const later = () => (t.clock as ManualClock).advance(1000);

async function connect(body: Record<string, unknown>) {
  const conn = await samlConnection(t, body);
  idps.push(conn.idp);
  return conn;
}
async function login(conn: { idp: SamlTestIdp; id: string }, template: string, email: string, groups: string[]): Promise<Me> {
  conn.idp.responseTemplate = template;
  const { me } = await samlLogin(t, conn, { nameId: email, email, groups });
  expect(me, `${template} ${conn.idp.url}`).toBeTruthy();
  return me as Me;
}

describe('group attributes of LDAP-backed IdPs', () => {
  it('memberOf DNs match rules that name the same DNs, however spaced or cased; isMemberOf basic names match by default', async () => {
    const conn = await connect({
      membership_rules: [
        { organization: 'acme-eng', role: 'admin', groups: ['CN=Engineering, OU=Groups, DC=acme, DC=com'] },
        { organization: 'acme-ops', role: 'member', groups: ['cn=R\\26D\\2C Europe,ou=groups,dc=acme,dc=com'] },
        { organization: 'acme', role: 'member', groups: ['acme:staff'] },
      ],
    });
    const view = (await t.api('GET', `/api/v1/connections/${conn.id}`)).body;
    expect(view.attribute_mapping.groups).toEqual(expect.arrayContaining(['memberOf', 'isMemberOf', 'http://schemas.xmlsoap.org/claims/Group', 'urn:oid:1.2.840.113556.1.2.102']));
    expect(view.group_dn_match).toBe('dn');

    const bob = await login(conn, MEMBER_OF, 'bob@acme.com', ['CN=Engineering,OU=Groups,DC=acme,DC=com', 'CN=R&D\\, Europe,OU=Groups,DC=acme,DC=com', 'CN=Domain Users,CN=Users,DC=acme,DC=com']);
    expect(roles(bob)).toEqual(['acme-eng:admin', 'acme-ops:member']);
    expect(bob.last_sync_run.group_matching).toBeNull();

    const carol = await login(conn, IS_MEMBER_OF, 'carol@acme.com', ['acme:staff', 'urn:mace:acme.com:groups:payroll']);
    expect(roles(carol)).toEqual(['acme:member']);
  });

  it('group_dn_match: cn matches a DN by its CN (escaped commas and pluses unescaped); without it the login leaves a warning saying so', async () => {
    const conn = await connect({
      membership_rules: [
        { organization: 'acme-eng', role: 'admin', groups: ['Smith, Jones + Partners'] },
        { organization: 'acme-ops', role: 'member', groups: ['Ops'] },
      ],
    });
    const dns = ['CN=Smith\\, Jones \\2B Partners,OU=Groups,DC=acme,DC=com', 'CN=Staff,OU=Groups,DC=acme,DC=com'];
    const before = await login(conn, MEMBER_OF, 'bob@acme.com', dns);
    expect(roles(before)).toEqual([]);
    expect(before.last_sync_run.group_matching).toEqual({
      unmatched: { attributes: [{ name: 'memberOf', mapped: true, count: 2, sample: dns }], would_match_by_cn: ['Smith, Jones + Partners'], would_match_if_mapped: [] },
      matched_by_cn: [],
    });

    // The preview says what CN matching would do, before anything changes.
    const rules = [{ organization: 'acme-eng', role: 'admin', groups: ['Smith, Jones + Partners'] }];
    const asIs = await t.api('POST', `/api/v1/connections/${conn.id}/preview`, { body: { membership_rules: rules } });
    expect(asIs.body).toMatchObject({ users_evaluated: 1, added: [] });
    const byCn = await t.api('POST', `/api/v1/connections/${conn.id}/preview`, { body: { membership_rules: rules, group_dn_match: 'cn' } });
    expect(byCn.body).toMatchObject({ users_evaluated: 1, added: [{ user_id: before.user.id, role: 'admin' }] });
    expect((await t.api('GET', `/api/v1/connections/${conn.id}`)).body.group_dn_match).toBe('dn');

    later();
    const patched = await t.api('PATCH', `/api/v1/connections/${conn.id}`, { body: { group_dn_match: 'cn' } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ group_dn_match: 'cn', group_warnings: null });
    expect((await t.api('PATCH', `/api/v1/connections/${conn.id}`, { body: { group_dn_match: 'ou' } })).body).toMatchObject({ errorCode: 'invalid_body', message: expect.stringContaining('group_dn_match') });

    const after = await login(conn, MEMBER_OF, 'bob@acme.com', dns);
    expect(roles(after)).toEqual(['acme-eng:admin']);
    expect(after.last_sync_run.group_matching).toEqual({ unmatched: null, matched_by_cn: [{ group: 'Smith, Jones + Partners', dns: [dns[0]] }] });
  });

  it('cn matching: a CN that stands for groups in two OUs is shown as ambiguous on the connection', async () => {
    const conn = await connect({ group_dn_match: 'cn', membership_rules: [{ organization: 'acme-eng', role: 'admin', groups: ['admins'] }] });
    expect(roles(await login(conn, MEMBER_OF, 'staff@acme.com', ['CN=admins,OU=Staff,DC=acme,DC=com']))).toEqual(['acme-eng:admin']);
    expect((await t.api('GET', `/api/v1/connections/${conn.id}`)).body.group_warnings).toBeNull();
    expect(roles(await login(conn, MEMBER_OF, 'temp@acme.com', ['CN=admins,OU=Contractors,DC=acme,DC=com']))).toEqual(['acme-eng:admin']);
    const w = (await t.api('GET', `/api/v1/connections/${conn.id}`)).body.group_warnings;
    expect(w).toMatchObject({ logins_checked: 2, unmatched: null, ambiguous_cn: [{ group: 'admins', dns: ['CN=admins,OU=Contractors,DC=acme,DC=com', 'CN=admins,OU=Staff,DC=acme,DC=com'] }] });
    expect(w.ambiguous_cn[0].hint).toContain('Name the full DN in the membership rule');
    const admin = new AdminClient(t.url);
    await admin.signIn(t.adminKey);
    const page = await admin.get('/admin/connections');
    expect(page.text).toContain('data-warning="group_cn_ambiguous"');
    expect(page.text).toContain('CN=admins,OU=Contractors,DC=acme,DC=com | CN=admins,OU=Staff,DC=acme,DC=com');
  });
});

describe('"groups matched no rule" warning', () => {
  it('is recorded in the run, summed up on the connection (API and page) and the organization report, and cleared by a fix', async () => {
    const conn = await connect({
      membership_rules: [
        { organization: 'acme', role: 'member' },
        { organization: 'acme-eng', role: 'admin', groups: ['Engineering'] },
      ],
    });
    // A Role attribute is not a default groups attribute: named, with what mapping it would match.
    const bob = await login(conn, ROLE_ONLY, 'bob@acme.com', ['Engineering', 'Support']);
    expect(roles(bob)).toEqual(['acme:member']);
    expect(bob.last_sync_run.group_matching?.unmatched).toEqual({ attributes: [{ name: 'Role', mapped: false, count: 2, sample: ['Engineering', 'Support'] }], would_match_by_cn: [], would_match_if_mapped: ['Engineering'] });
    await login(conn, MEMBER_OF, 'carol@acme.com', ['CN=Engineering,OU=Groups,DC=acme,DC=com']);
    await login(conn, MEMBER_OF, 'dave@acme.com', ['CN=Engineering,OU=Groups,DC=acme,DC=com']);
    // A login whose groups matched says nothing.
    expect((await login(conn, MEMBER_OF, 'erin@acme.com', ['Engineering'])).last_sync_run.group_matching).toBeNull();

    const runs = (await t.api('GET', `/api/v1/sync-runs?user=${bob.user.id}`)).body.sync_runs;
    expect(runs[0].group_matching.unmatched.attributes[0].name).toBe('Role');
    const w = (await t.api('GET', `/api/v1/connections/${conn.id}`)).body.group_warnings;
    expect(w).toMatchObject({
      logins_checked: 4,
      unmatched: { logins: 3, attributes: [{ name: 'memberOf', mapped: true, sample: ['CN=Engineering,OU=Groups,DC=acme,DC=com'] }, { name: 'Role', mapped: false, sample: ['Engineering', 'Support'] }], would_match_by_cn: ['Engineering'], would_match_if_mapped: ['Engineering'] },
      ambiguous_cn: [],
    });
    expect(w.unmatched.hint).toContain('"group_dn_match": "cn"');
    expect((await t.api('GET', '/api/v1/connections')).body.connections[0].group_warnings.unmatched.logins).toBe(3);
    const report = (await t.api('GET', '/api/v1/organizations/acme/sync-report')).body;
    expect(report.group_warnings.unmatched.logins).toBe(3);
    const audit = await t.container.db('audit_events').where({ action: 'login.succeeded', target_user_id: bob.user.id }).first();
    expect(JSON.parse(audit.detail)).toMatchObject({ groups_matched_no_rule: ['Role'] });

    const admin = new AdminClient(t.url);
    await admin.signIn(t.adminKey);
    const page = await admin.get('/admin/connections');
    expect(page.text).toContain('data-warning="groups_matched_no_rule"');
    expect(page.text).toContain('3 of the last 4 sign-ins through acme-saml carried groups that matched no membership rule');
    expect(page.text).toContain('<code>Role</code> <span class="muted">(not in attribute_mapping.groups)</span>: <code>Engineering</code>, <code>Support</code>');
    expect(page.text).toContain('Set &quot;group_dn_match&quot;: &quot;cn&quot; on the connection');
    const reportPage = await admin.get('/admin/organizations/acme/report');
    expect(reportPage.text).toContain('data-warning="groups_matched_no_rule"');
    const cli = await runCliHere(['report', '--org', 'acme'], { DATABASE_URL: t.database.url });
    expect(cli.stdout).toContain('warning: 3 of the last 4 sign-ins carried groups that matched no rule\n  memberOf: CN=Engineering,OU=Groups,DC=acme,DC=com\n  Role (not mapped): Engineering | Support\n');

    // The fix (CN matching) clears the warning; the next sign-ins get their memberships.
    later();
    await t.api('PATCH', `/api/v1/connections/${conn.id}`, { body: { group_dn_match: 'cn' } });
    expect((await t.api('GET', `/api/v1/connections/${conn.id}`)).body.group_warnings).toBeNull();
    expect(roles(await login(conn, MEMBER_OF, 'carol@acme.com', ['CN=Engineering,OU=Groups,DC=acme,DC=com']))).toEqual(['acme-eng:admin', 'acme:member']);
    expect((await admin.get('/admin/connections')).text).not.toContain('data-warning=');
  });

  it('samples stay bounded however many groups a login carries, and are escaped on the page', async () => {
    const conn = await connect({ membership_rules: [{ organization: 'acme-eng', role: 'admin', groups: ['Engineering'] }] });
    const groups = Array.from({ length: 300 }, (_, i) => `<script>alert(${i})</script>${'x'.repeat(400)}`);
    const me = await login(conn, MEMBER_OF, 'bob@acme.com', groups);
    const u = me.last_sync_run.group_matching!.unmatched!;
    expect(u.attributes[0]).toMatchObject({ name: 'memberOf', count: 300 });
    expect(u.attributes[0]!.sample).toHaveLength(5);
    expect(u.attributes[0]!.sample.every((s) => s.length <= 200)).toBe(true);
    const stored = await t.container.db('sync_runs').where({ id: me.last_sync_run.id }).first();
    expect(stored.group_matching.length).toBeLessThan(2000);
    const admin = new AdminClient(t.url);
    await admin.signIn(t.adminKey);
    const page = await admin.get('/admin/connections');
    expect(page.text).toContain('&lt;script&gt;alert(0)&lt;/script&gt;');
    expect(page.text).not.toContain('<script>alert(');
  });

  it("another customer's organization admin never sees this connection's warning or its sample values", async () => {
    const a = await connect({ name: 'acme-saml', membership_rules: [{ organization: 'acme-eng', role: 'admin', groups: ['Engineering'] }, { organization: 'acme', role: 'member' }] });
    const b = await connect({ name: 'beta-saml', domains: ['beta.com'], membership_rules: [{ organization: 'beta', role: 'owner', groups: ['beta-admins'] }] });
    await login(a, MEMBER_OF, 'bob@acme.com', ['CN=Project Nightingale,OU=Secret,DC=acme,DC=com']);
    expect((await t.api('GET', `/api/v1/connections/${a.id}`)).body.group_warnings.unmatched.attributes[0].sample).toEqual(['CN=Project Nightingale,OU=Secret,DC=acme,DC=com']);

    b.idp.responseTemplate = 'responses/response.template.xml';
    const { browser, page } = await samlLogin(t, b, { nameId: 'olga@beta.com', email: 'olga@beta.com', groups: ['beta-admins'] }, '/admin/organizations');
    expect(page.url).toBe(`${t.url}/admin/organizations`);
    const own = await browser.request('GET', `${t.url}/admin/organizations/beta/report`);
    expect(own.status).toBe(200);
    expect(own.text).not.toContain('Nightingale');
    expect(own.text).not.toContain('data-warning=');
    expect((await browser.request('GET', `${t.url}/admin/organizations/acme/report`)).status).toBe(404);
    expect((await browser.request('GET', `${t.url}/admin/organizations/acme-eng/report`)).status).toBe(404);
    expect((await browser.request('GET', `${t.url}/admin/connections`)).status).toBe(403);
    const me = await browser.request('GET', `${t.url}/api/v1/me`);
    expect(me.text).not.toContain('Nightingale');
    expect((await t.api('GET', '/api/v1/organizations/beta/sync-report')).body.group_warnings).toBeNull();
  });

  it("an admin of one organization the connection governs, or a reports-only key, does not see the connection-wide warning (other organizations' people)", async () => {
    const a = await connect({ name: 'acme-saml', membership_rules: [{ organization: 'acme-eng', role: 'admin', groups: ['Engineering'] }, { organization: 'acme', role: 'owner', groups: ['acme-admins'] }] });
    await login(a, MEMBER_OF, 'bob@acme.com', ['CN=Project Nightingale,OU=Secret,DC=acme,DC=com']);
    const key = await t.container.apiKeys.create({ name: 'reports-only', scopes: ['read:reports'] }, { type: 'system', id: null });
    const narrow = await fetch(`${t.url}/api/v1/organizations/acme/sync-report`, { headers: { authorization: `Bearer ${key.key}` } });
    expect(narrow.status).toBe(200);
    expect((await narrow.json()).group_warnings).toBeNull();
    expect((await t.api('GET', '/api/v1/organizations/acme/sync-report')).body.group_warnings.unmatched.logins).toBe(1);

    a.idp.responseTemplate = 'responses/response.template.xml';
    const { browser, page } = await samlLogin(t, a, { nameId: 'carol@acme.com', email: 'carol@acme.com', groups: ['acme-admins'] }, '/admin/organizations');
    expect(page.url).toBe(`${t.url}/admin/organizations`);
    const report = await browser.request('GET', `${t.url}/admin/organizations/acme/report`);
    expect(report.status).toBe(200);
    expect(report.text).not.toContain('Nightingale');
    expect(report.text).not.toContain('data-warning=');
  });
});

describe('OIDC groups claim with DNs', () => {
  it('matches by CN when the connection says so, and warns when the DNs match no rule', async () => {
    const op = new OidcTestOp();
    await op.start();
    try {
      const res = await t.api('POST', '/api/v1/connections', {
        body: {
          name: 'acme-oidc',
          type: 'oidc',
          domains: ['acme.com'],
          group_dn_match: 'cn',
          idp: { issuer: op.issuer, client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789', scopes: ['openid', 'email', 'profile', 'groups'] },
          membership_rules: [{ organization: 'acme-ops', role: 'admin', groups: ['it-admins'] }],
        },
      });
      expect(res.status, res.text).toBe(201);
      op.configure({ client_id: 'orgsync-test', client_secret: 'op-client-secret-0123456789', redirect_uris: [res.body.sp.redirect_uri] });
      const signIn = async (sub: string, groups: string[]): Promise<Me> => {
        op.accounts.set(sub, { sub, email: `${sub}@acme.com`, email_verified: true, name: sub, groups });
        const browser = new Browser();
        await signInAtOp(browser, `${t.url}/sso/oidc/${res.body.id}/login`, sub);
        return JSON.parse((await browser.request('GET', `${t.url}/api/v1/me`)).text) as Me;
      };
      expect(roles(await signIn('hank', ['CN=it-admins,OU=Groups,DC=acme,DC=com']))).toEqual(['acme-ops:admin']);
      const ivy = await signIn('ivy', ['CN=helpdesk,OU=Groups,DC=acme,DC=com']);
      expect(roles(ivy)).toEqual([]);
      expect(ivy.last_sync_run.group_matching?.unmatched?.attributes).toEqual([{ name: 'groups', mapped: true, count: 1, sample: ['CN=helpdesk,OU=Groups,DC=acme,DC=com'] }]);
    } finally {
      await op.stop();
    }
  });
});
