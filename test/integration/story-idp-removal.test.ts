/**
 * The product's central story, end to end over real HTTP: an IdP provisions over SCIM, the user
 * signs in over SAML, the IdP deactivates them, the admin sees the flag and removes the record, the
 * account and other memberships stay, and the IdP's re-grant brings the user back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import type { ScimCall } from '../helpers/scim-client.js';
import { acmeIdp, createOrgs, samlLogin } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';

let t: TestApp;
let conn: { idp: SamlTestIdp; id: string };
let orgs: Record<string, string>;
let scim: ScimCall;

const alice = { nameId: 'alice@acme.com', email: 'alice@acme.com' };

beforeEach(async () => {
  t = await startTestApp();
  orgs = await createOrgs(t, 'acme', 'beta', 'side');
  ({ conn, scim } = await acmeIdp(t));
});
afterEach(async () => {
  await conn.idp.stop();
  await t.close();
});

async function provisionAlice(): Promise<{ scimId: string; userId: string }> {
  const created = await scim('POST', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: 'alice@acme.com',
    externalId: '00u-alice',
    name: { givenName: 'Alice', familyName: 'Liddell' },
    emails: [{ value: 'alice@acme.com', type: 'work', primary: true }],
    active: true,
  });
  expect(created.status).toBe(201);
  const group = await scim('POST', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: 'Engineering',
    members: [{ value: created.body.id }],
  });
  expect(group.status).toBe(201);
  const users = (await t.api('GET', '/api/v1/users?email=alice@acme.com')).body.users;
  expect(users).toHaveLength(1);
  return { scimId: created.body.id, userId: users[0].id };
}

const setActive = (scimId: string, value: string) =>
  scim('PATCH', `/Users/${scimId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value }] });

const orgNames = (list: { name: string; role: string }[]) => list.map((o) => `${o.name}:${o.role}`).sort();

describe('IdP removal story', () => {
  it('flags on SCIM deactivation, removes only that record, and restores on re-grant', async () => {
    const { scimId, userId } = await provisionAlice();
    // A membership in an organization the connection does not govern: never touched by sync.
    expect((await t.api('POST', '/api/v1/organizations/side/members', { body: { members: [userId], role: 'member' } })).status).toBe(204);

    const first = await samlLogin(t, conn, alice);
    expect(first.meStatus).toBe(200);
    expect(orgNames(first.me.organizations)).toEqual(['acme:member', 'beta:admin', 'side:member']);

    // The IdP deactivates Alice (Entra sends a string boolean and a capitalised op).
    expect((await setActive(scimId, 'False')).status).toBe(200);
    expect((await first.browser.request('GET', `${t.url}/api/v1/me`)).status).toBe(401); // sessions revoked at once
    const denied = await samlLogin(t, conn, alice);
    expect(denied.meStatus).toBe(401);
    expect(denied.page.status).toBe(403);
    expect(denied.page.text).toContain('user_deactivated');

    for (const org of ['acme', 'beta']) {
      const flagged = (await t.api('GET', `/api/v1/organizations/${org}/members?status=flagged`)).body.members;
      expect(flagged).toHaveLength(1);
      expect(flagged[0]).toMatchObject({ user_id: userId, email: 'alice@acme.com', status: 'flagged', flagged_reason: 'idp_deactivated' });
      expect(flagged[0].flag_evidence).toMatchObject({ channel: 'scim' });
      expect(String(flagged[0].flag_evidence.action)).toMatch(/active/i);
    }
    const side = (await t.api('GET', '/api/v1/organizations/side/members?status=all')).body.members;
    expect(side).toMatchObject([{ user_id: userId, status: 'active' }]);

    const report = (await t.api('GET', '/api/v1/organizations/acme/sync-report')).body;
    expect(report.summary).toMatchObject({ active: 0, flagged: 1, by_reason: { idp_deactivated: 1 } });
    expect(report.flagged[0]).toMatchObject({ user_id: userId, reason: 'idp_deactivated', evidence: { channel: 'scim' } });
    const csv = await fetch(`${t.url}/api/v1/organizations/acme/sync-report`, { headers: { authorization: `Bearer ${t.adminKey}`, accept: 'text/csv' } });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (await csv.text()).trim().split(/\r?\n/);
    expect(lines[0]).toBe('organization,user_id,email,name,role,status,reason,flagged_at,evidence');
    expect(lines.some((l) => l.includes(userId) && l.includes('idp_deactivated'))).toBe(true);

    // The admin removes the flagged record in acme (Auth0-style bulk body).
    const removed = await t.api('DELETE', '/api/v1/organizations/acme/members', { body: { members: [userId] } });
    expect(removed.status).toBe(204);
    const user = (await t.api('GET', `/api/v1/users/${userId}`)).body;
    expect(user.id).toBe(userId);
    expect(user.memberships.map((m: { organization_name: string; status: string }) => `${m.organization_name}:${m.status}`).sort()).toEqual([
      'beta:flagged',
      'side:active',
    ]);
    const audit = (await t.api('GET', `/api/v1/audit-logs?action=membership.removed&user=${userId}`)).body.audit_logs;
    expect(audit).toMatchObject([{ organization_id: orgs.acme, actor: { type: 'api_key' } }]);

    // The IdP reactivates Alice: an explicit re-grant. Her next login restores beta and adds acme again.
    expect((await setActive(scimId, 'True')).status).toBe(200);
    const again = await samlLogin(t, conn, alice);
    expect(again.meStatus).toBe(200);
    expect(orgNames(again.me.organizations)).toEqual(['acme:member', 'beta:admin', 'side:member']);
    expect(again.me.flagged).toEqual([]);
  });

  it('keeps an admin removal across logins until the IdP grants again', async () => {
    const { userId } = await provisionAlice();
    await samlLogin(t, conn, alice);
    expect((await t.api('DELETE', `/api/v1/organizations/acme/members/${userId}`)).status).toBe(204);

    const next = await samlLogin(t, conn, alice);
    expect(orgNames(next.me.organizations)).toEqual(['beta:admin']);
    expect(next.me.last_sync_run.skipped).toEqual([{ organization_id: orgs.acme, reason: 'removed_by_admin' }]);

    expect((await t.api('DELETE', `/api/v1/organizations/acme/removals/${userId}`)).status).toBe(204);
    const after = await samlLogin(t, conn, alice);
    expect(orgNames(after.me.organizations)).toEqual(['acme:member', 'beta:admin']);
  });

  it('flags only the organization whose granting group the IdP removed', async () => {
    const { scimId } = await provisionAlice();
    await samlLogin(t, conn, alice);
    const groups = (await scim('GET', '/Groups?filter=displayName%20eq%20%22engineering%22')).body.Resources;
    expect(groups).toHaveLength(1);
    const patch = await scim('PATCH', `/Groups/${groups[0].id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'remove', path: `members[value eq "${scimId}"]` }],
    });
    expect([200, 204]).toContain(patch.status);
    const beta = (await t.api('GET', '/api/v1/organizations/beta/members?status=all')).body.members;
    expect(beta).toMatchObject([{ status: 'flagged', flagged_reason: 'idp_group_removed' }]);
    const acme = (await t.api('GET', '/api/v1/organizations/acme/members?status=all')).body.members;
    expect(acme).toMatchObject([{ status: 'active' }]);
  });
});
