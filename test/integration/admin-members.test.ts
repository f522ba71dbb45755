import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';
import { startAdminSession, type AdminSeed } from '../helpers/admin-seed.js';
import { scimClient } from '../helpers/scim-client.js';
import type { ManualClock } from '../../src/platform/clock.js';
import { humanDay } from '../../src/platform/human-time.js';
import { DbSessionStore } from '../../src/http/session-store.js';

const decode = (s: string) => s.replaceAll('&amp;', '&');

describe('admin page: members, removal and reports over plain HTTP (the no-script path)', () => {
  let t: TestApp;
  let seed: AdminSeed;
  let a: AdminClient;
  beforeEach(async () => {
    ({ t, seed, a } = await startAdminSession());
  });
  afterEach(async () => {
    await t.close();
  });

  it('lists organizations with SSO state and active/flagged counts', async () => {
    const page = await a.get('/admin/organizations');
    const acme = page.text.slice(page.text.indexOf('Acme Corporation'), page.text.indexOf('</tr>', page.text.indexOf('Acme Corporation')));
    expect(acme).toContain('SSO-enabled');
    expect(acme).toContain('acme-okta (SAML)');
    expect(acme).toMatch(/data-label="Active" class="num">2</);
    expect(acme).toContain('href="/admin/organizations/acme?tab=flagged">2</a>');
    const globex = page.text.slice(page.text.indexOf('>Globex<'));
    expect(globex).toContain('Not SSO-enabled');
  });

  it('removes a member through the confirmation page, audited as the admin page acting for the key', async () => {
    const flagged = await a.get('/admin/organizations/acme?tab=flagged');
    const link = new RegExp(`href="(/admin/organizations/acme/members/${seed.users.linus}/remove\\?tab=flagged)"`).exec(flagged.text)![1]!;
    const confirm = await a.get(decode(link));
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Remove Linus Torvalds (linus@acme.com) from Acme Corporation?');
    const action = decode(/<form method="post" action="([^"]+)" class="actions">/.exec(confirm.text)![1]!);
    const done = await a.post(action);
    expect(done.status).toBe(303);
    expect(done.location).toBe('/admin/organizations/acme?tab=flagged');
    const after = await a.get(done.location!);
    expect(after.text).toContain('Removed Linus Torvalds from Acme Corporation.');
    expect(after.text).not.toContain('linus@acme.com');

    const keyId = (await t.container.db('api_keys').where({ name: 'test-admin' }).first()).id;
    const audit = await t.api('GET', `/api/v1/audit-logs?action=membership.removed`);
    expect(audit.body.audit_logs).toHaveLength(1);
    expect(audit.body.audit_logs[0]).toMatchObject({ actor: { type: 'admin_page', id: keyId }, target_user_id: seed.users.linus, organization_id: seed.acme.id });
    // The same removal the API does: the membership is gone, the account stays, the removal sticks.
    const members = await t.api('GET', '/api/v1/organizations/acme/members?status=all');
    expect(members.body.members.map((m: { user_id: string }) => m.user_id)).not.toContain(seed.users.linus);
    expect((await t.api('GET', `/api/v1/users/${seed.users.linus}`)).status).toBe(200);
  });

  it('removes every flagged member after the no-script confirmation', async () => {
    const confirm = await a.get('/admin/organizations/acme/remove-flagged');
    expect(confirm.text).toContain('Remove all 2 flagged members from Acme Corporation?');
    const done = await a.post('/admin/organizations/acme/remove-flagged');
    expect(done.location).toBe('/admin/organizations/acme?tab=flagged');
    expect((await a.get(done.location!)).text).toContain('Removed 2 flagged members.');
    const report = await t.api('GET', '/api/v1/organizations/acme/sync-report');
    expect(report.body.summary).toMatchObject({ active: 2, flagged: 0 });
  });

  it('hides and refuses removal for a key without delete:organization_members', async () => {
    const reader = new AdminClient(t.url);
    await reader.signIn(await t.keyWith('read:organizations', 'read:organization_members'));
    const page = await reader.get('/admin/organizations/acme?tab=flagged');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Linus Torvalds');
    expect(page.text).not.toContain('/remove');
    expect(page.text).not.toContain('href="/admin/organizations/acme/report"');
    expect((await reader.post(`/admin/organizations/acme/members/${seed.users.linus}/remove`)).status).toBe(403);
    expect((await reader.post('/admin/organizations/acme/remove-flagged')).status).toBe(403);
    expect((await reader.get('/admin/organizations/acme/report')).status).toBe(403);
    expect((await t.api('GET', '/api/v1/organizations/acme/members?status=flagged')).body.members).toHaveLength(2);
  });

  it('refuses a cross-site removal: 403 and nothing removed', async () => {
    await a.get('/admin/organizations/acme?tab=flagged');
    const res = await a.post(`/admin/organizations/acme/members/${seed.users.linus}/remove`, {}, { csrf: false, origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect((await t.api('GET', '/api/v1/organizations/acme/members?status=flagged')).body.members).toHaveLength(2);
  });

  it('shows no add or invite controls for an SSO-enabled organization and refuses them if posted', async () => {
    const page = await a.get('/admin/organizations/acme');
    expect(page.text).toContain('Members of this organization come from the identity provider');
    expect(page.text).not.toContain('action="/admin/organizations/acme/members/add"');
    expect(page.text).not.toContain('action="/admin/organizations/acme/invitations"');
    const res = await a.post('/admin/organizations/acme/members/add', { email: 'hal@globex.com', role: 'member' });
    expect(res.status).toBe(303);
    expect((await a.get(res.location!)).text).toContain('is managed by its SSO connection');
    const globex = await a.get('/admin/organizations/globex');
    expect(globex.text).toContain('action="/admin/organizations/globex/members/add"');
    const unknown = await a.post('/admin/organizations/globex/members/add', { email: 'nobody@globex.com', role: 'member' });
    expect((await a.get(unknown.location!)).text).toContain('No user has the email &quot;nobody@globex.com&quot;. Invite them instead.');
  });

  it('shows the sync report with counts by reason and recent runs, and streams its CSV', async () => {
    const page = await a.get('/admin/organizations/acme/report');
    expect(page.text).toContain('<dd id="count-flagged" class="count-flagged">2</dd>');
    expect(page.text).toContain('data-reason="idp_deactivated">1<');
    expect(page.text).toContain('data-reason="idp_group_removed">1<');
    expect(page.text).toContain('ada@acme.com');
    const csv = await fetch(`${t.url}/admin/organizations/acme/report.csv`, { headers: { cookie: a.cookie } });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('organization,user_id,email,name,role,status,reason,flagged_at,evidence');
    expect(lines).toHaveLength(3);
  });

  it('draws what happened in the last 30 days and the flags by reason as server-rendered SVG', async () => {
    const clock = t.clock as ManualClock;
    const today = clock.now();
    const daysAgo = (n: number) => new Date(today.getTime() - n * 86_400_000);
    const dir = (await t.api('POST', '/api/v1/directories', { body: { connection_id: seed.connectionId, name: 'Acme IdP' } })).body;
    const scim = scimClient(dir);
    const provision = async (email: string) =>
      (await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: email, emails: [{ value: email, primary: true }], active: true })).body.id as string;
    const setActive = async (id: string, active: boolean) =>
      expect((await scim('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active } }] })).status).toBe(200);
    // Outside the window: Ada flagged 40 days ago. Inside: Grace flagged 3 days ago and restored yesterday,
    // Linus removed today; Globex's removal today is another organization's and stays out.
    const ada = await provision('ada@acme.com');
    const grace = await provision('grace@acme.com');
    clock.set(daysAgo(40));
    await setActive(ada, false);
    clock.set(daysAgo(3));
    await setActive(grace, false);
    clock.set(daysAgo(1));
    await setActive(grace, true);
    clock.set(today);
    await a.get('/admin/organizations/acme?tab=flagged');
    expect((await a.post(`/admin/organizations/acme/members/${seed.users.linus}/remove?tab=flagged`)).status).toBe(303);
    expect((await t.api('DELETE', `/api/v1/organizations/globex/members/${seed.users.hal}`)).status).toBe(204);

    const page = (await a.get('/admin/organizations/acme/report')).text;
    const svg = /<svg class="activity"[\s\S]*?<\/svg>/.exec(page)?.[0] ?? '';
    expect(svg).toContain('role="img"');
    expect(svg).toContain(`${humanDay(daysAgo(29).toISOString())} to ${humanDay(today.toISOString())}: 1 membership flagged, 1 removed, 1 restored.`);
    expect(svg).toMatch(new RegExp(`<rect class="bar bar-flagged" [^>]+><title>${humanDay(daysAgo(3).toISOString())}: 1 flagged</title>`));
    expect(svg).toMatch(new RegExp(`<rect class="bar bar-restored" [^>]+><title>${humanDay(daysAgo(1).toISOString())}: 1 restored</title>`));
    expect(svg).toMatch(new RegExp(`<rect class="bar bar-removed" [^>]+><title>${humanDay(today.toISOString())}: 1 removed</title>`));
    expect(svg.match(/<rect class="bar /g)).toHaveLength(3);
    expect(page).toContain('<strong id="activity-total-removed">1</strong>');
    // Flags by reason: one bar each, as long as its share (Ada and Margaret are flagged now).
    expect(page).toMatch(/Deactivated in the IdP<\/span>\s*<svg class="reason-bar"[^>]*aria-label="1 of 2 flagged"><rect class="bar bar-flagged" x="0" y="0" height="14" width="50%"><\/rect><\/svg>/);
    expect(page).not.toContain('<script>');
  });

  it('shows the message of a removal on the next page even when the browser follows the redirect before the session is saved', async () => {
    // A slow session write: a browser follows a 303 as soon as its headers arrive.
    const store = DbSessionStore.prototype;
    const set = store.set;
    const spy = vi.spyOn(store, 'set').mockImplementation(function (this: DbSessionStore, ...args: Parameters<typeof set>) {
      setTimeout(() => set.apply(this, args), 300);
    });
    try {
      await a.get('/admin/organizations/acme?tab=flagged');
      const posted = await fetch(`${t.url}/admin/organizations/acme/members/${seed.users.linus}/remove?tab=flagged`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: a.cookie, origin: t.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: a.csrf }).toString(),
      });
      expect(posted.status).toBe(303);
      // Follow at once, before the body of the redirect has arrived.
      const next = await a.get(decode(posted.headers.get('location')!));
      await posted.text();
      expect(next.text).toContain('Removed Linus Torvalds from Acme Corporation.');
    } finally {
      spy.mockRestore();
    }
  });

  it('answers 404 for an unknown organization and member', async () => {
    expect((await a.get('/admin/organizations/nope')).status).toBe(404);
    const gone = await a.post(`/admin/organizations/acme/members/${seed.users.hal}/remove`);
    expect((await a.get(gone.location!)).text).toContain('That person is no longer a member.');
  });
});
