import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Builder } from '../helpers/builders.js';

let t: TestApp;
let b: Builder;
beforeEach(async () => {
  t = await startTestApp();
  b = new Builder(t.container.db);
});
afterEach(async () => {
  await t.close();
});

describe('members API', () => {
  it('lists members by status with SPEC fields, cursor paginated', async () => {
    const org = await b.organization({ name: 'acme' });
    const users = [];
    for (let i = 0; i < 5; i++) users.push(await b.user({ last_login_at: '2026-01-02T00:00:00.000Z' }));
    for (const [i, u] of users.entries()) {
      await b.membership({
        organization_id: org.id,
        user_id: u.id,
        flagged: i < 2 ? { reason: 'idp_deactivated', at: '2026-01-03T00:00:00.000Z', evidence: { channel: 'scim', action: 'PATCH active=false', at: '2026-01-03T00:00:00.000Z' } } : undefined,
      });
    }
    const flagged = await t.api('GET', '/api/v1/organizations/acme/members?status=flagged');
    expect(flagged.status).toBe(200);
    expect(flagged.body.members).toHaveLength(2);
    expect(flagged.body.members[0]).toEqual({
      user_id: expect.any(String),
      email: expect.any(String),
      name: expect.any(String),
      role: 'member',
      status: 'flagged',
      source: 'sso',
      flagged_reason: 'idp_deactivated',
      flagged_at: '2026-01-03T00:00:00.000Z',
      flag_evidence: { channel: 'scim', action: 'PATCH active=false', at: '2026-01-03T00:00:00.000Z' },
      joined_at: expect.any(String),
      last_login_at: '2026-01-02T00:00:00.000Z',
    });
    expect((await t.api('GET', `/api/v1/organizations/${org.id}/members?status=active`)).body.members).toHaveLength(3);

    const seen: string[] = [];
    let path = '/api/v1/organizations/acme/members?take=2';
    for (;;) {
      const page = await t.api('GET', path);
      expect(page.status).toBe(200);
      seen.push(...page.body.members.map((m: { user_id: string }) => m.user_id));
      if (!page.body.next) break;
      path = `/api/v1/organizations/acme/members?take=2&from=${page.body.next}`;
    }
    expect(seen.sort()).toEqual(users.map((u) => u.id).sort());
    expect((await t.api('GET', '/api/v1/organizations/acme/members?status=gone')).body.errorCode).toBe('invalid_query_string');
    expect((await t.api('GET', '/api/v1/organizations/nope/members')).status).toBe(404);
  });

  it('adds members manually to ungoverned organizations only, within the organization limit', async () => {
    await t.close();
    t = await startTestApp({ env: { MAX_ORGANIZATIONS_PER_USER: '2' } });
    b = new Builder(t.container.db);
    const plain = await b.organization({ name: 'plain' });
    const conn = await b.connection();
    await b.organization({ name: 'governed', connection_id: conn.id });
    const u = await b.user();

    expect((await t.api('POST', '/api/v1/organizations/plain/members', { body: { members: [u.id], role: 'admin' } })).status).toBe(204);
    const list = await t.api('GET', '/api/v1/organizations/plain/members');
    expect(list.body.members).toMatchObject([{ user_id: u.id, role: 'admin', source: 'manual', status: 'active' }]);
    // Adding again is idempotent.
    expect((await t.api('POST', '/api/v1/organizations/plain/members', { body: { members: [u.id] } })).status).toBe(204);

    const sso = await t.api('POST', '/api/v1/organizations/governed/members', { body: { members: [u.id] } });
    expect(sso.status).toBe(409);
    expect(sso.body.errorCode).toBe('sso_managed_organization');
    const inv = await t.api('POST', '/api/v1/organizations/governed/invitations', { body: { email: 'x@acme.com' } });
    expect(inv.status).toBe(409);
    expect(inv.body.errorCode).toBe('sso_managed_organization');
    const invOk = await t.api('POST', '/api/v1/organizations/plain/invitations', { body: { email: 'New@Acme.com', role: 'member' } });
    expect(invOk.status).toBe(201);
    expect(invOk.body).toMatchObject({ organization_id: plain.id, email: 'new@acme.com', role: 'member' });

    const second = await b.organization({ name: 'second' });
    await b.membership({ organization_id: second.id, user_id: u.id, source: 'manual' });
    await b.organization({ name: 'third' });
    const limit = await t.api('POST', '/api/v1/organizations/third/members', { body: { members: [u.id] } });
    expect(limit.status).toBe(409);
    expect(limit.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'A user can belong to at most 2 organizations.', errorCode: 'membership_limit_exceeded' });

    const unknown = await t.api('POST', '/api/v1/organizations/third/members', { body: { members: ['nope-id'] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain('nope-id');
    expect((await t.api('POST', '/api/v1/organizations/plain/members', { body: { members: [] } })).body.errorCode).toBe('invalid_body');
  });

  it('uses the default limit of 400 in its message', async () => {
    const u = await b.user();
    for (let i = 0; i < 400; i++) {
      const o = await b.organization();
      await b.membership({ organization_id: o.id, user_id: u.id, source: 'manual' });
    }
    await b.organization({ name: 'one-more' });
    const res = await t.api('POST', '/api/v1/organizations/one-more/members', { body: { members: [u.id] } });
    expect(res.status).toBe(409);
    expect(res.body.message).toBe('A user can belong to at most 400 organizations.');
  });

  it('bulk-removes only the named memberships, keeps accounts and other memberships, audits with the actor', async () => {
    const conn = await b.connection();
    const org = await b.organization({ name: 'acme', connection_id: conn.id });
    const other = await b.organization({ name: 'other' });
    const [u1, u2, u3] = [await b.user(), await b.user(), await b.user()];
    for (const u of [u1, u2, u3]) {
      await b.membership({ organization_id: org.id, user_id: u.id });
      await b.membership({ organization_id: other.id, user_id: u.id, source: 'manual' });
    }
    const key = await t.keyWith('delete:organization_members', 'read:organization_members');
    const res = await t.api('DELETE', '/api/v1/organizations/acme/members', { key, body: { members: [u1.id, u2.id] } });
    expect(res.status).toBe(204);
    const left = await t.api('GET', '/api/v1/organizations/acme/members', { key });
    expect(left.body.members.map((m: { user_id: string }) => m.user_id)).toEqual([u3.id]);
    expect((await t.api('GET', '/api/v1/organizations/other/members')).body.members).toHaveLength(3);
    const user = await t.api('GET', `/api/v1/users/${u1.id}`);
    expect(user.status).toBe(200);
    expect(user.body.memberships.map((m: { organization_name: string }) => m.organization_name)).toEqual(['other']);

    const audit = await t.api('GET', `/api/v1/audit-logs?action=membership.removed&organization=acme`);
    expect(audit.body.audit_logs).toHaveLength(2);
    const apiKeyId = (await t.container.apiKeys.authenticate(key))!.id;
    expect(audit.body.audit_logs[0].actor).toEqual({ type: 'api_key', id: apiKeyId });
    const events = await t.container.events.list({ take: 100, types: ['membership.removed'] });
    expect(events.map((e) => e.user_id).sort()).toEqual([u1.id, u2.id].sort());
    // Governed organization: removal records keep login sync from re-adding.
    const records = await t.container.db('removal_records').where({ organization_id: org.id }).pluck('user_id');
    expect(records.sort()).toEqual([u1.id, u2.id].sort());
  });

  it('is all-or-nothing: unknown ids are a 400 naming them and nothing is removed', async () => {
    const org = await b.organization({ name: 'acme' });
    const u1 = await b.user();
    const stranger = await b.user();
    await b.membership({ organization_id: org.id, user_id: u1.id });
    const res = await t.api('DELETE', '/api/v1/organizations/acme/members', { body: { members: [u1.id, stranger.id, 'ghost'] } });
    expect(res.status).toBe(400);
    expect(res.body.errorCode).toBe('invalid_body');
    expect(res.body.message).toContain(stranger.id);
    expect(res.body.message).toContain('ghost');
    expect(res.body.message).not.toContain(u1.id);
    expect((await t.api('GET', '/api/v1/organizations/acme/members')).body.members).toHaveLength(1);
    expect((await t.api('DELETE', '/api/v1/organizations/acme/members', { body: { members: [] } })).status).toBe(400);
    const tooMany = Array.from({ length: 1001 }, (_, i) => `id-${i}`);
    const big = await t.api('DELETE', '/api/v1/organizations/acme/members', { body: { members: tooMany } });
    expect(big.status).toBe(400);
    expect(big.body.message).toContain('members');
  });

  it('removes 1,000 members in one request', async () => {
    const org = await b.organization({ name: 'big' });
    const ids: string[] = [];
    const at = new Date().toISOString();
    const users = Array.from({ length: 1000 }, (_, i) => ({ id: crypto.randomUUID(), email: `u${i}@big.test`, email_lower: `u${i}@big.test`, created_at: at, updated_at: at }));
    for (let i = 0; i < users.length; i += 100) await t.container.db('users').insert(users.slice(i, i + 100));
    const ms = users.map((u) => ({ organization_id: org.id, user_id: u.id, role: 'member', source: 'manual', status: 'active', joined_at: at }));
    for (let i = 0; i < ms.length; i += 100) await t.container.db('memberships').insert(ms.slice(i, i + 100));
    ids.push(...users.map((u) => u.id));
    const res = await t.api('DELETE', '/api/v1/organizations/big/members', { body: { members: ids } });
    expect(res.status).toBe(204);
    expect((await t.api('GET', '/api/v1/organizations/big/members')).body.members).toHaveLength(0);
    expect(Number((await t.container.db('users').count<{ n: number }[]>({ n: '*' }))[0]!.n)).toBe(1000);
  });

  it('removes one member (404 when not a member) and every flagged member at once', async () => {
    const org = await b.organization({ name: 'acme' });
    const [a, f1, f2] = [await b.user(), await b.user(), await b.user()];
    await b.membership({ organization_id: org.id, user_id: a.id });
    await b.membership({ organization_id: org.id, user_id: f1.id, flagged: { reason: 'idp_deleted' } });
    await b.membership({ organization_id: org.id, user_id: f2.id, flagged: { reason: 'idp_group_removed' } });
    expect((await t.api('DELETE', `/api/v1/organizations/acme/members/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await t.api('DELETE', '/api/v1/organizations/acme/members?status=flagged')).status).toBe(204);
    const left = await t.api('GET', '/api/v1/organizations/acme/members');
    expect(left.body.members.map((m: { user_id: string }) => m.user_id)).toEqual([a.id]);
    expect((await t.api('DELETE', `/api/v1/organizations/acme/members/${a.id}`)).status).toBe(204);
    expect((await t.api('DELETE', `/api/v1/organizations/acme/members/${a.id}`)).status).toBe(404);
    expect((await t.api('DELETE', '/api/v1/organizations/acme/members?status=active')).body.errorCode).toBe('invalid_query_string');
  });

  it('changes roles unless the IdP manages them', async () => {
    const idpConn = await b.connection({ roles_managed_by: 'idp' });
    const adminConn = await b.connection({ roles_managed_by: 'admin' });
    const idpOrg = await b.organization({ name: 'idp-roles', connection_id: idpConn.id });
    const adminOrg = await b.organization({ name: 'admin-roles', connection_id: adminConn.id });
    const u = await b.user();
    await b.membership({ organization_id: idpOrg.id, user_id: u.id });
    await b.membership({ organization_id: adminOrg.id, user_id: u.id });
    const refused = await t.api('PATCH', `/api/v1/organizations/idp-roles/members/${u.id}`, { body: { role: 'admin' } });
    expect(refused.status).toBe(409);
    expect(refused.body.errorCode).toBe('role_managed_by_idp');
    const ok = await t.api('PATCH', `/api/v1/organizations/admin-roles/members/${u.id}`, { body: { role: 'owner' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ user_id: u.id, role: 'owner' });
    expect((await t.api('PATCH', `/api/v1/organizations/admin-roles/members/${u.id}`, { body: { role: 'boss' } })).status).toBe(400);
    expect((await t.api('PATCH', `/api/v1/organizations/admin-roles/members/${crypto.randomUUID()}`, { body: { role: 'admin' } })).status).toBe(404);
    const audit = await t.api('GET', `/api/v1/audit-logs?action=membership.role_changed`);
    expect(audit.body.audit_logs[0].detail).toEqual({ from_role: 'member', to_role: 'owner' });
  });

  it('clears removal records (204, then 404)', async () => {
    const conn = await b.connection();
    const org = await b.organization({ name: 'acme', connection_id: conn.id });
    const u = await b.user();
    await b.membership({ organization_id: org.id, user_id: u.id });
    expect((await t.api('DELETE', `/api/v1/organizations/acme/members/${u.id}`)).status).toBe(204);
    expect(await t.container.db('removal_records').where({ organization_id: org.id, user_id: u.id }).first()).toBeTruthy();
    expect((await t.api('DELETE', `/api/v1/organizations/acme/removals/${u.id}`)).status).toBe(204);
    expect(await t.container.db('removal_records').where({ organization_id: org.id, user_id: u.id }).first()).toBeUndefined();
    expect((await t.api('DELETE', `/api/v1/organizations/acme/removals/${u.id}`)).status).toBe(404);
  });

  it('checks scopes', async () => {
    await b.organization({ name: 'acme' });
    const key = await t.keyWith('read:organization_members');
    const res = await t.api('DELETE', '/api/v1/organizations/acme/members', { key, body: { members: ['x'] } });
    expect(res.status).toBe(403);
    expect(res.body.message).toBe('Insufficient scope; expected any of: delete:organization_members.');
    expect((await t.api('GET', '/api/v1/organizations/acme/members', { key })).status).toBe(200);
  });
});
