import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, samlConnection, samlLogin } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';

/**
 * Removal records with an IdP that only signs people in (no SCIM directory). A login's groups are
 * what the IdP says today, not an act of granting: seeing the group again at sign-in does not undo an
 * admin's removal. Only a SCIM re-grant (none here) or DELETE …/removals/{user} does.
 */
describe('removal records with a login-only IdP', () => {
  let t: TestApp;
  let conn: { idp: SamlTestIdp; id: string };
  const alice = (groups: string[]) => ({ nameId: 'alice-id', email: 'alice@acme.com', groups });
  const names = (me: { organizations: Array<{ name: string }> }) => me.organizations.map((o) => o.name);

  beforeAll(async () => {
    t = await startTestApp();
    await createOrgs(t, 'acme-eng');
    conn = await samlConnection(t, { membership_rules: [{ organization: 'acme-eng', role: 'member', groups: ['Engineering'] }] });
  });
  afterAll(async () => {
    await conn?.idp.stop();
    await t?.close();
  });

  it('granting the group again at sign-in does not re-add a removed member; clearing the record does', async () => {
    const first = await samlLogin(t, conn, alice(['Engineering']));
    expect(names(first.me)).toEqual(['acme-eng']);
    const userId = first.me.user.id as string;

    // The IdP drops the group: flagged at the next sign-in, then an admin removes the flagged member.
    const lost = await samlLogin(t, conn, alice([]));
    expect(lost.me.flagged).toMatchObject([{ name: 'acme-eng', reason: 'login_lost_grant' }]);
    expect((await t.api('DELETE', '/api/v1/organizations/acme-eng/members?status=flagged')).status).toBe(204);

    // The IdP puts the person back in the group. Sign-ins carry it; the removal stands.
    for (let i = 0; i < 2; i++) {
      const back = await samlLogin(t, conn, alice(['Engineering']));
      expect(back.page.status).toBe(200);
      expect(names(back.me)).toEqual([]);
      expect(back.me.flagged).toEqual([]);
      expect(back.me.last_sync_run.skipped).toEqual([{ organization_id: expect.any(String), reason: 'removed_by_admin' }]);
    }
    expect(await t.container.db('removal_records').where({ user_id: userId })).toHaveLength(1);
    expect((await t.api('GET', `/api/v1/audit-logs?action=removal.cleared&user=${userId}`)).body.audit_logs).toEqual([]);

    // Only an admin (no SCIM here) clears it; the next sign-in adds the membership.
    expect((await t.api('DELETE', `/api/v1/organizations/acme-eng/removals/${userId}`)).status).toBe(204);
    const readded = await samlLogin(t, conn, alice(['Engineering']));
    expect(names(readded.me)).toEqual(['acme-eng']);
    expect(readded.me.last_sync_run.added).toMatchObject([{ role: 'member' }]);
  });
});
