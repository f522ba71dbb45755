import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, samlConnection, samlLogin } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';

let t: TestApp;
let conn: { idp: SamlTestIdp; id: string };
let orgs: Record<string, string>;
const now = '2026-01-01T00:00:00.000Z';

beforeEach(async () => {
  t = await startTestApp();
  orgs = await createOrgs(t, 'acme', 'acme-eng', 'acme-ops', 'side');
  conn = await samlConnection(t, {
    membership_rules: [
      { organization: 'acme', role: 'member' },
      { organization: 'acme-eng', role: 'member', groups: ['Engineering'] },
      { organization: 'acme-eng', role: 'owner', groups: ['eng-leads'] },
      { organization: 'acme-ops', role: 'admin', groups: ['Ops'] },
    ],
  });
});
afterEach(async () => {
  await conn.idp.stop();
  await t.close();
});

const user = (groups: string[]) => ({ nameId: 'bob@acme.com', email: 'bob@acme.com', groups });
const roles = (me: { organizations: { name: string; role: string }[] }) => me.organizations.map((o) => `${o.name}:${o.role}`);

async function directory(): Promise<string> {
  const id = '00000000-0000-7000-8000-0000000000d1';
  await t.container.db('directories').insert({ id, connection_id: conn.id, name: 'acme-scim', created_at: now });
  return id;
}
async function scimUser(directoryId: string, over: Record<string, unknown> = {}): Promise<string> {
  const id = '00000000-0000-7000-8000-0000000000e1';
  await t.container.db('scim_users').insert({ id, directory_id: directoryId, user_name: 'bob@acme.com', user_name_lower: 'bob@acme.com', external_id: 'bob-object-id', primary_email_lower: 'bob@acme.com', active: true, data: '{}', created_at: now, updated_at: now, ...over });
  return id;
}
async function scimGroup(directoryId: string, name: string, externalId: string | null, members: string[]): Promise<void> {
  const id = `00000000-0000-7000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`;
  await t.container.db('scim_groups').insert({ id, directory_id: directoryId, display_name: name, display_name_lower: name.toLowerCase(), external_id: externalId, data: '{}', created_at: now, updated_at: now });
  for (const m of members) await t.container.db('scim_group_members').insert({ group_id: id, scim_user_id: m, directory_id: directoryId, added_at: now });
}

describe('login sync (SPEC §3)', () => {
  it('flags a lost grant, restores and re-roles on a later grant, and never touches ungoverned organizations', async () => {
    const first = await samlLogin(t, conn, user(['Engineering']));
    expect(roles(first.me)).toEqual(['acme:member', 'acme-eng:member']);
    const userId = first.me.user.id;
    await t.container.db('memberships').insert({ organization_id: orgs.side, user_id: userId, role: 'owner', source: 'manual', status: 'active', joined_at: now });

    const second = await samlLogin(t, conn, user([]));
    expect(roles(second.me)).toEqual(['acme:member', 'side:owner']);
    expect(second.me.flagged).toEqual([expect.objectContaining({ name: 'acme-eng', reason: 'login_lost_grant' })]);
    expect(second.me.last_sync_run.flagged).toEqual([{ organization_id: orgs['acme-eng'], reason: 'login_lost_grant' }]);
    expect(second.page.text).toMatch(/Flagged access[\s\S]*acme-eng/);
    const flagged = await t.container.db('memberships').where({ organization_id: orgs['acme-eng'], user_id: userId }).first();
    expect(JSON.parse(flagged.flag_evidence)).toMatchObject({ channel: 'login' });

    const third = await samlLogin(t, conn, user(['eng-leads', 'Ops']));
    expect(roles(third.me)).toEqual(['acme:member', 'acme-eng:owner', 'acme-ops:admin', 'side:owner']);
    expect(third.me.last_sync_run).toMatchObject({
      restored: [{ organization_id: orgs['acme-eng'] }],
      updated: [{ organization_id: orgs['acme-eng'], from_role: 'member', to_role: 'owner' }],
      added: [{ organization_id: orgs['acme-ops'], role: 'admin' }],
    });
    const types = (await t.container.events.list({ userId, take: 1000 })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['user.provisioned', 'membership.added', 'membership.flagged', 'membership.restored', 'membership.role_changed']));
    const actions = (await t.api('GET', `/api/v1/audit-logs?user=${userId}`)).body.audit_logs.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['login.succeeded', 'membership.added', 'membership.flagged', 'membership.restored', 'membership.role_changed']));
    const side = await t.container.db('memberships').where({ organization_id: orgs.side, user_id: userId }).first();
    expect(side).toMatchObject({ status: 'active', role: 'owner', source: 'manual' });
  });

  it('leaves roles alone when roles_managed_by is admin', async () => {
    await samlLogin(t, conn, user(['Engineering']));
    await t.api('PATCH', `/api/v1/connections/${conn.id}`, { body: { roles_managed_by: 'admin' } });
    const again = await samlLogin(t, conn, user(['eng-leads']));
    expect(roles(again.me)).toEqual(['acme:member', 'acme-eng:member']);
    expect(again.me.last_sync_run.updated).toEqual([]);
  });

  it('respects removal records: skipped as removed_by_admin, the login still succeeds', async () => {
    const first = await samlLogin(t, conn, user([]));
    const userId = first.me.user.id;
    await t.container.db('memberships').where({ user_id: userId, organization_id: orgs.acme }).delete();
    await t.container.db('removal_records').insert({ organization_id: orgs.acme, user_id: userId, removed_at: now, removed_by: '{"type":"api_key","id":"k"}' });
    const again = await samlLogin(t, conn, user([]));
    expect(again.page.status).toBe(200);
    expect(again.me.organizations).toEqual([]);
    expect(again.me.last_sync_run.skipped).toEqual([{ organization_id: orgs.acme, reason: 'removed_by_admin' }]);
  });

  it('a user granted 401 organizations gets 400; the last is skipped as membership_limit and the login succeeds', async () => {
    const many = Array.from({ length: 401 }, (_, i) => ({ id: `00000000-0000-7000-9000-${String(i).padStart(12, '0')}`, name: `bulk-${String(i).padStart(3, '0')}`, display_name: `Bulk ${i}`, created_at: now, updated_at: now }));
    for (let i = 0; i < many.length; i += 100) await t.container.db('organizations').insert(many.slice(i, i + 100));
    const res = await t.api('PATCH', `/api/v1/connections/${conn.id}`, { body: { membership_rules: many.map((o) => ({ organization: o.name, role: 'member' })) } });
    expect(res.status).toBe(200);
    const { page, me } = await samlLogin(t, conn, user([]));
    expect(page.status).toBe(200);
    expect(me.organizations).toHaveLength(400);
    expect(me.last_sync_run.added).toHaveLength(400);
    expect(me.last_sync_run.skipped).toEqual([{ organization_id: many[400]!.id, reason: 'membership_limit' }]);
    const runs = await t.container.db('sync_run_organizations').where({ sync_run_id: me.last_sync_run.id });
    expect(runs).toHaveLength(401);
  });

  it('effective groups include the user’s SCIM groups (by displayName or externalId), linked by externalId', async () => {
    const dir = await directory();
    const scimId = await scimUser(dir, { user_name: 'b.smith', user_name_lower: 'b.smith', primary_email_lower: null, external_id: 'bob-object-id' });
    await scimGroup(dir, 'ops', null, [scimId]);
    await scimGroup(dir, 'Some Entra Group', 'eng-leads', [scimId]);
    const { me } = await samlLogin(t, conn, { nameId: 'bob-object-id', email: 'bob@acme.com', groups: [] });
    expect(roles(me)).toEqual(['acme:member', 'acme-eng:owner', 'acme-ops:admin']);
    expect((await t.container.db('scim_users').where({ id: scimId }).first()).user_id).toBe(me.user.id);
  });

  it('denies a user the directory deactivated or deleted (403 user_deactivated, audited)', async () => {
    const dir = await directory();
    await scimUser(dir, { active: false });
    const { page } = await samlLogin(t, conn, user([]));
    expect(page.status).toBe(403);
    expect(page.text).toContain('user_deactivated');
    expect(await t.container.db('users')).toHaveLength(0);

    const userId = '00000000-0000-7000-8000-0000000000f1';
    await t.container.db('users').insert({ id: userId, email: 'carol@acme.com', email_lower: 'carol@acme.com', active: true, created_at: now, updated_at: now });
    await t.container.db('scim_user_tombstones').insert({ directory_id: dir, user_id: userId, scim_user_id: 'gone', user_name_lower: 'carol@acme.com', deleted_at: now });
    const deleted = await samlLogin(t, conn, { nameId: 'carol@acme.com', email: 'carol@acme.com', groups: [] });
    expect(deleted.page.status).toBe(403);
    const denied = (await t.api('GET', '/api/v1/audit-logs?action=login.denied')).body.audit_logs;
    expect(denied.map((d: { detail: { reason: string } }) => d.detail.reason)).toEqual(['user_deactivated', 'user_deactivated']);
    expect(denied[1].target_user_id).toBe(userId);
  });

  it('previews new rules over known users without changing anything', async () => {
    const { me } = await samlLogin(t, conn, user(['Engineering']));
    const before = await t.container.db('memberships').orderBy('organization_id');
    const res = await t.api('POST', `/api/v1/connections/${conn.id}/preview`, {
      body: { membership_rules: [{ organization: 'acme', role: 'owner' }, { organization: 'acme-ops', role: 'member', groups: ['Engineering'] }] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      users_evaluated: 1,
      added: [{ user_id: me.user.id, organization_id: orgs['acme-ops'], role: 'member' }],
      updated: [{ user_id: me.user.id, organization_id: orgs.acme, from_role: 'member', to_role: 'owner' }],
      flagged: [],
    });
    // acme-eng would no longer be governed by these rules, so it is left alone (not flagged).
    expect(await t.container.db('memberships').orderBy('organization_id')).toEqual(before);
    const keep = await t.api('POST', `/api/v1/connections/${conn.id}/preview`, { body: { membership_rules: [{ organization: 'acme-eng', role: 'member', groups: ['Nobody'] }] } });
    expect(keep.body.flagged).toEqual([{ user_id: me.user.id, organization_id: orgs['acme-eng'], reason: 'login_lost_grant' }]);
    expect((await t.api('POST', `/api/v1/connections/${conn.id}/preview`, { body: { membership_rules: [{ organization: 'nope', role: 'member' }] } })).status).toBe(400);
  });
});
