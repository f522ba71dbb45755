import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, samlConnection, samlLogin } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';

/**
 * The whole story from outside, over real HTTP: SCIM provisioning, SAML sign-in with login sync,
 * SCIM deactivation → flags in the members list and both report formats, admin removal that keeps
 * the account, removals that stick, and the IdP's re-grant.
 */
let t: TestApp;
let conn: { idp: SamlTestIdp; id: string };
let orgs: Record<string, string>;
let scim: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- SCIM JSON
let directoryId: string;

beforeEach(async () => {
  t = await startTestApp();
  orgs = await createOrgs(t, 'acme', 'all-hands', 'side');
  conn = await samlConnection(t, {
    membership_rules: [
      { organization: 'acme', role: 'member', groups: ['Engineering'] },
      { organization: 'all-hands', role: 'member' },
    ],
  });
  const dir = await t.api('POST', '/api/v1/directories', { body: { connection_id: conn.id, name: 'okta' } });
  expect(dir.status).toBe(201);
  directoryId = dir.body.id;
  const token = dir.body.token as string;
  scim = async (method, path, body) => {
    const r = await fetch(`${t.url}/scim/v2/${directoryId}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
});
afterEach(async () => {
  await conn.idp.stop();
  await t.close();
});

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const provision = async (email: string) => {
  const r = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: email, active: true, emails: [{ value: email, primary: true, type: 'work' }], name: { givenName: 'A', familyName: 'B' } });
  expect(r.status).toBe(201);
  return r.body.id as string;
};
const setActive = (id: string, active: boolean) => scim('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active } }] });
const groupMembers = (groupId: string, op: 'add' | 'remove', scimIds: string[]) =>
  scim('PATCH', `/Groups/${groupId}`, {
    schemas: [PATCH],
    Operations: op === 'add' ? [{ op: 'add', path: 'members', value: scimIds.map((value) => ({ value })) }] : scimIds.map((v) => ({ op: 'remove', path: `members[value eq "${v}"]` })),
  });
const members = async (org: string, status = 'all') => (await t.api('GET', `/api/v1/organizations/${org}/members?status=${status}`)).body.members as Array<{ user_id: string; status: string; flagged_reason: string | null; flag_evidence: unknown }>;

describe('end to end: provision, sign in, deactivate, report, remove, re-grant', () => {
  it('tells the whole story', async () => {
    const aliceScim = await provision('alice@acme.com');
    const group = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Engineering', members: [{ value: aliceScim }] });
    expect(group.status).toBe(201);

    // Sign in: the SCIM group grants acme, the no-group rule grants all-hands.
    const first = await samlLogin(t, conn, { nameId: 'alice@acme.com', email: 'alice@acme.com' });
    expect(first.meStatus).toBe(200);
    const aliceId = first.me.user.id as string;
    expect(first.me.organizations.map((o: { name: string }) => o.name).sort()).toEqual(['acme', 'all-hands']);
    expect((await t.api('POST', '/api/v1/organizations/side/members', { body: { members: [aliceId] } })).status).toBe(204);

    // The IdP deactivates her: flagged at once in governed orgs only, session revoked.
    expect((await setActive(aliceScim, false)).status).toBe(200);
    expect((await first.browser.request('GET', `${t.url}/api/v1/me`)).status).toBe(401);
    const flagged = await members('acme', 'flagged');
    expect(flagged).toMatchObject([{ user_id: aliceId, flagged_reason: 'idp_deactivated', flag_evidence: { channel: 'scim', action: expect.stringContaining('active=false'), directory_id: directoryId } }]);
    expect((await members('side'))[0]).toMatchObject({ user_id: aliceId, status: 'active' });
    const report = await t.api('GET', '/api/v1/organizations/acme/sync-report');
    expect(report.body.summary).toMatchObject({ active: 0, flagged: 1, by_reason: { idp_deactivated: 1 } });
    expect(report.body.flagged[0]).toMatchObject({ user_id: aliceId, email: 'alice@acme.com', reason: 'idp_deactivated' });
    expect(report.body.summary.last_scim_activity_at).toEqual(expect.any(String));
    expect(report.body.summary.last_login_sync_at).toEqual(expect.any(String));
    const csv = await t.api('GET', '/api/v1/sync-report', { headers: { accept: 'text/csv' } });
    expect(csv.text).toContain(`acme,${aliceId},alice@acme.com,`);
    expect(csv.text).toContain(`all-hands,${aliceId},alice@acme.com,`);
    // A deactivated user cannot sign in.
    expect((await samlLogin(t, conn, { nameId: 'alice@acme.com', email: 'alice@acme.com' })).meStatus).toBe(401);

    // The admin removes her from acme: account and other memberships stay.
    expect((await t.api('DELETE', `/api/v1/organizations/acme/members/${aliceId}`)).status).toBe(204);
    expect(await members('acme')).toEqual([]);
    const user = await t.api('GET', `/api/v1/users/${aliceId}`);
    expect(user.status).toBe(200);
    expect(user.body.memberships.map((m: { organization_name: string }) => m.organization_name).sort()).toEqual(['all-hands', 'side']);

    // The IdP reactivates her (an explicit re-grant): flags restored, the removal record cleared, and
    // her next sign-in adds acme again.
    expect((await setActive(aliceScim, true)).status).toBe(200);
    expect((await members('all-hands'))[0]).toMatchObject({ status: 'active', flagged_reason: null });
    const again = await samlLogin(t, conn, { nameId: 'alice@acme.com', email: 'alice@acme.com' });
    expect(again.me.organizations.map((o: { name: string }) => o.name).sort()).toEqual(['acme', 'all-hands', 'side']);
    const runs = await t.api('GET', `/api/v1/sync-runs?user=${aliceId}&organization=acme`);
    expect(runs.body.sync_runs.map((r: { trigger: string }) => r.trigger)).toEqual(['login', 'scim', 'login']);
    const audit = await t.api('GET', `/api/v1/audit-logs?user=${aliceId}&action=membership.removed`);
    expect(audit.body.audit_logs[0].actor.type).toBe('api_key');
  });

  it('flags a lost group grant, keeps removals until the group grants again, and reconciles', async () => {
    const bobScim = await provision('bob@acme.com');
    const group = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Engineering', members: [{ value: bobScim }] });
    const bob = (await samlLogin(t, conn, { nameId: 'bob@acme.com', email: 'bob@acme.com' })).me.user.id as string;

    // Removed from the only granting group: acme flagged, all-hands (granted to everyone) untouched.
    expect((await groupMembers(group.body.id, 'remove', [bobScim])).status).toBeLessThan(300);
    expect((await members('acme'))[0]).toMatchObject({ user_id: bob, status: 'flagged', flagged_reason: 'idp_group_removed' });
    expect((await members('all-hands'))[0]).toMatchObject({ user_id: bob, status: 'active' });

    // Re-added: restored. Then an admin removes him; signing in again does not bring acme back.
    expect((await groupMembers(group.body.id, 'add', [bobScim])).status).toBeLessThan(300);
    expect((await members('acme'))[0]).toMatchObject({ status: 'active' });
    expect((await t.api('DELETE', '/api/v1/organizations/acme/members', { body: { members: [bob] } })).status).toBe(204);
    const afterRemoval = await samlLogin(t, conn, { nameId: 'bob@acme.com', email: 'bob@acme.com' });
    expect(afterRemoval.me.organizations.map((o: { name: string }) => o.name)).toEqual(['all-hands']);
    const skipped = await t.api('GET', `/api/v1/sync-runs?user=${bob}&take=1`);
    expect(skipped.body.sync_runs[0].skipped).toEqual([{ organization_id: orgs.acme, reason: 'removed_by_admin' }]);

    // The IdP grants again (group remove + add): the removal record is cleared; the next login adds acme.
    await groupMembers(group.body.id, 'remove', [bobScim]);
    await groupMembers(group.body.id, 'add', [bobScim]);
    const regranted = await samlLogin(t, conn, { nameId: 'bob@acme.com', email: 'bob@acme.com' });
    expect(regranted.me.organizations.map((o: { name: string }) => o.name).sort()).toEqual(['acme', 'all-hands']);

    // Carol signs in through SSO but the directory never provisioned her: reconcile flags her.
    const carol = (await samlLogin(t, conn, { nameId: 'carol@acme.com', email: 'carol@acme.com' })).me.user.id as string;
    const run = await t.api('POST', `/api/v1/directories/${directoryId}/reconcile`);
    expect(run.status).toBe(200);
    expect(run.body.flagged).toEqual([{ organization_id: orgs['all-hands'], reason: 'not_in_directory', user_id: carol }]);
    expect(await members('all-hands', 'flagged')).toMatchObject([{ user_id: carol, flagged_reason: 'not_in_directory' }]);
    // Bulk removal of every flagged member keeps everyone else.
    expect((await t.api('DELETE', '/api/v1/organizations/all-hands/members?status=flagged')).status).toBe(204);
    expect((await members('all-hands')).map((m) => m.user_id)).toEqual([bob]);
  });
});
