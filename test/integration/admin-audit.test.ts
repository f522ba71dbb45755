import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';
import { startAdminSession } from '../helpers/admin-seed.js';
import { scimClient } from '../helpers/scim-client.js';

describe('admin page: audit log', () => {
  let t: TestApp;
  let a: AdminClient;
  beforeEach(async () => {
    t = await startTestApp();
    const actor = { type: 'cli' as const, id: null };
    await t.container.organizations.create({ name: 'acme', display_name: 'Acme' }, actor);
    await t.container.organizations.create({ name: 'globex', display_name: 'Globex' }, actor);
    for (let i = 0; i < 60; i++) await t.container.organizations.update('globex', { display_name: `Globex ${i}` }, actor);
    a = new AdminClient(t.url);
    await a.signIn(t.adminKey);
  });
  afterEach(async () => {
    await t.close();
  });

  it('lists events newest first, pages backwards, and filters by organization and action', async () => {
    const first = await a.get('/admin/audit');
    expect(first.status).toBe(200);
    expect(first.text).toContain('Globex 59');
    expect(first.text).not.toContain('Globex 5&quot;'); // escaped JSON detail, and only the newest 50
    const next = /href="(\/admin\/audit\?from=[^"]+)" rel="next"|rel="next" href="([^"]+)"/.exec(first.text);
    const nextHref = (next?.[1] ?? next?.[2])!.replaceAll('&amp;', '&');
    const older = await a.get(nextHref);
    expect(older.text).toContain('<code>organization.created</code>');
    // Organizations are named by their current display name; the newest change is on the first page only.
    expect(older.text).not.toContain('display name “Globex 59”');

    const acme = await a.get('/admin/audit?organization=acme');
    expect(acme.text).toContain('<code>organization.created</code>');
    expect(acme.text).not.toContain('<code>organization.updated</code>');
    const created = await a.get('/admin/audit?action=organization.created');
    expect(created.text.match(/<code>organization\.created<\/code>/g)).toHaveLength(2);
  });

  it('explains an unknown organization or user instead of failing', async () => {
    const res = await a.get('/admin/audit?organization=nope');
    expect(res.status).toBe(400);
    expect(res.text).toContain('No organization &quot;nope&quot;.');
    const user = await a.get('/admin/audit?user=ghost@example.com');
    expect(user.text).toContain('No user with email');
    const bad = await a.get('/admin/audit?from=garbage');
    expect(bad.status).toBe(400);
  });

  it('escapes everything it shows', async () => {
    await t.container.organizations.update('acme', { display_name: '<script>alert(1)</script>' }, { type: 'cli', id: null });
    const res = await a.get('/admin/audit?organization=acme');
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.text).not.toContain('<script>alert(1)');
  });

  it('reads each event as a sentence: who did what to whom and why, ids and evidence one click away', async () => {
    await t.close();
    const session = await startAdminSession();
    t = session.t;
    const { seed, a: admin } = session;
    // Grace's membership gets flagged by a real SCIM deactivation; Linus is removed on the page.
    const dir = (await t.api('POST', '/api/v1/directories', { body: { connection_id: seed.connectionId, name: 'Acme IdP' } })).body;
    const scim = scimClient(dir);
    const created = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'grace@acme.com', displayName: 'Grace Hopper', name: { givenName: 'Grace', familyName: 'Hopper' }, emails: [{ value: 'grace@acme.com', primary: true }], active: true });
    expect(created.status).toBe(201);
    const off = await scim('PATCH', `/Users/${created.body.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] });
    expect(off.status).toBe(200);
    await admin.get('/admin/organizations/acme?tab=flagged');
    expect((await admin.post(`/admin/organizations/acme/members/${seed.users.linus}/remove?tab=flagged`)).status).toBe(303);

    const page = (await admin.get('/admin/audit?organization=acme')).text;
    const grace = `<span class="who" title="User id ${seed.users.grace}"><strong>Grace Hopper</strong> (grace@acme.com)</span>`;
    const linus = `<span class="who" title="User id ${seed.users.linus}"><strong>Linus Torvalds</strong> (linus@acme.com)</span>`;
    const acme = '<a href="/admin/audit?organization=acme">Acme Corporation</a>';
    expect(page).toContain(`The identity provider, through SCIM directory <strong>“Acme IdP”</strong>, flagged the membership of ${grace} in ${acme}: deactivated in the IdP.`);
    expect(page).toContain(
      `API key <strong>“test-admin”</strong> on the admin page removed ${linus} from ${acme}, who was flagged: deactivated in the IdP; sign-ins will not add them back, even with the granting group, until a SCIM re-grant or an admin clears the removal record.`,
    );
    // The flag's evidence and the user id are in the expandable part, not in the sentence.
    expect(page).toMatch(/<summary>Details and evidence<\/summary>[\s\S]*?<dt>Evidence<\/dt><dd><span class="evidence">SCIM: PATCH active=false/);
    expect(page).toContain(`<a class="mono small" href="/admin/audit?user=${seed.users.grace}">${seed.users.grace}</a>`);
  });
});
