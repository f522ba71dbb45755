import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Builder } from '../helpers/builders.js';
import type { ScimGroupMembershipChange, ScimUserChange } from '../../src/modules/scim/lifecycle.js';
import { inTransaction } from '../../src/platform/transaction.js';

let t: TestApp;
let b: Builder;
beforeEach(async () => {
  t = await startTestApp();
  b = new Builder(t.container.db);
});
afterEach(async () => {
  await t.close();
});

const at = '2026-03-01T10:00:00.000Z';

/** An IdP world: one connection + directory governing two orgs, plus an ungoverned org. */
async function world() {
  const conn = await b.connection({ name: 'acme-okta', domains: ['acme.com'] });
  const dir = await b.directory({ connection_id: conn.id });
  const eng = await b.organization({ name: 'eng', connection_id: conn.id });
  const all = await b.organization({ name: 'all-hands', connection_id: conn.id });
  const other = await b.organization({ name: 'other' });
  await b.rule({ connection_id: conn.id, organization_id: eng.id, groups: ['Engineering'] });
  await b.rule({ connection_id: conn.id, organization_id: eng.id, groups: ['guid-platform'], role: 'admin' });
  await b.rule({ connection_id: conn.id, organization_id: all.id, groups: null });
  const user = await b.user({ email: 'ada@acme.com' });
  const scim = await b.scimUser({ directory_id: dir.id, user_id: user.id, userName: 'ada@acme.com' });
  for (const org of [eng, all, other]) await b.membership({ organization_id: org.id, user_id: user.id });
  return { conn, dir, eng, all, other, user, scim };
}

const userChange = (w: Awaited<ReturnType<typeof world>>, action: string): ScimUserChange => ({
  directoryId: w.dir.id,
  connectionId: w.conn.id,
  scimUserId: w.scim.id,
  userId: w.user.id,
  at,
  action,
});

const statusOf = async (orgId: string, userId: string) =>
  t.container.db('memberships').where({ organization_id: orgId, user_id: userId }).first('status', 'flagged_reason', 'flag_evidence');

describe('flags from SCIM', () => {
  it('deactivation flags every governed membership, revokes sessions, and reactivation restores', async () => {
    const w = await world();
    await b.session(w.user.id);
    await inTransaction(t.container.db, (trx) => t.container.scimLifecycle.userDeactivated(trx, userChange(w, 'PATCH active=false')));

    for (const org of [w.eng, w.all]) {
      const m = await statusOf(org.id, w.user.id);
      expect(m).toMatchObject({ status: 'flagged', flagged_reason: 'idp_deactivated' });
      expect(JSON.parse(m.flag_evidence)).toEqual({ channel: 'scim', action: 'PATCH active=false', at, directory_id: w.dir.id });
    }
    expect(await statusOf(w.other.id, w.user.id)).toMatchObject({ status: 'active' });
    expect(await t.container.db('sessions').where({ user_id: w.user.id })).toHaveLength(0);

    const flaggedList = await t.api('GET', '/api/v1/organizations/eng/members?status=flagged');
    expect(flaggedList.body.members).toMatchObject([{ user_id: w.user.id, flagged_reason: 'idp_deactivated' }]);
    const runs = await t.api('GET', `/api/v1/sync-runs?user=${w.user.id}`);
    expect(runs.body.sync_runs[0]).toMatchObject({ trigger: 'scim', user_id: w.user.id, connection_id: w.conn.id });
    expect(runs.body.sync_runs[0].flagged).toHaveLength(2);
    const audit = await t.api('GET', `/api/v1/audit-logs?action=membership.flagged&user=${w.user.id}`);
    expect(audit.body.audit_logs).toHaveLength(2);
    expect(audit.body.audit_logs[0].actor).toEqual({ type: 'scim', id: w.dir.id });
    expect(await t.container.events.list({ take: 10, types: ['membership.flagged'] })).toHaveLength(2);

    await inTransaction(t.container.db, (trx) => t.container.scimLifecycle.userReactivated(trx, userChange(w, 'PATCH active=true')));
    for (const org of [w.eng, w.all]) expect(await statusOf(org.id, w.user.id)).toMatchObject({ status: 'active', flagged_reason: null });
    expect(await t.container.events.list({ take: 10, types: ['membership.restored'] })).toHaveLength(2);
  });

  it('deletion flags idp_deleted (over an earlier deactivation) and keeps the account; re-creation restores and clears removal records', async () => {
    const w = await world();
    await inTransaction(t.container.db, (trx) => t.container.scimLifecycle.userDeactivated(trx, userChange(w, 'PUT active=false')));
    await inTransaction(t.container.db, (trx) => t.container.scimLifecycle.userDeleted(trx, userChange(w, 'DELETE /Users')));
    expect(await statusOf(w.eng.id, w.user.id)).toMatchObject({ status: 'flagged', flagged_reason: 'idp_deleted' });
    expect(await t.container.db('users').where({ id: w.user.id }).first()).toBeTruthy();

    // An admin removes one flagged membership: it sticks until the IdP re-grants.
    expect((await t.api('DELETE', `/api/v1/organizations/all-hands/members/${w.user.id}`)).status).toBe(204);
    expect(await t.container.db('removal_records').where({ user_id: w.user.id })).toHaveLength(1);

    await inTransaction(t.container.db, (trx) => t.container.scimLifecycle.userProvisioned(trx, userChange(w, 'POST /Users')));
    expect(await statusOf(w.eng.id, w.user.id)).toMatchObject({ status: 'active' });
    expect(await t.container.db('removal_records').where({ user_id: w.user.id })).toHaveLength(0);
    const cleared = await t.api('GET', `/api/v1/audit-logs?action=removal.cleared`);
    expect(cleared.body.audit_logs).toMatchObject([{ actor: { type: 'scim', id: w.dir.id }, target_user_id: w.user.id }]);
  });

  it('a user with no linked account or no governed membership changes nothing', async () => {
    const w = await world();
    await inTransaction(t.container.db, (trx) => t.container.scimLifecycle.userDeactivated(trx, { ...userChange(w, 'PATCH active=false'), userId: null }));
    expect(await statusOf(w.eng.id, w.user.id)).toMatchObject({ status: 'active' });
    expect(await t.container.db('sync_runs')).toHaveLength(0);
  });

  it('losing the only granting group flags idp_group_removed, never orgs granted to everyone; re-adding restores', async () => {
    const w = await world();
    const engGroup = await b.scimGroup({ directory_id: w.dir.id, displayName: 'Engineering', members: [w.scim.id] });
    const change = (action: string): ScimGroupMembershipChange => ({
      directoryId: w.dir.id,
      connectionId: w.conn.id,
      groupId: engGroup.id,
      groupDisplayName: 'Engineering',
      groupExternalId: null,
      members: [{ scimUserId: w.scim.id, userId: w.user.id }],
      at,
      action,
    });
    await t.container.db('scim_group_members').where({ group_id: engGroup.id }).delete();
    await inTransaction(t.container.db, (trx) => t.container.scimLifecycle.groupMembersRemoved(trx, change('PATCH members remove')));
    const m = await statusOf(w.eng.id, w.user.id);
    expect(m).toMatchObject({ status: 'flagged', flagged_reason: 'idp_group_removed' });
    expect(JSON.parse(m.flag_evidence)).toMatchObject({ channel: 'scim', action: 'PATCH members remove', group: 'Engineering' });
    expect(await statusOf(w.all.id, w.user.id)).toMatchObject({ status: 'active' });
    expect(await statusOf(w.other.id, w.user.id)).toMatchObject({ status: 'active' });

    await b.groupMember(engGroup.id, w.scim.id, w.dir.id);
    await inTransaction(t.container.db, (trx) => t.container.scimLifecycle.groupMembersAdded(trx, change('PATCH members add')));
    expect(await statusOf(w.eng.id, w.user.id)).toMatchObject({ status: 'active', flagged_reason: null });
  });

  it('does not flag when another remaining group (matched by externalId) still grants the org', async () => {
    const w = await world();
    const engGroup = await b.scimGroup({ directory_id: w.dir.id, displayName: 'engineering', members: [w.scim.id] });
    await b.scimGroup({ directory_id: w.dir.id, displayName: 'Platform team', external_id: 'guid-platform', members: [w.scim.id] });
    // The group is deleted with its members still listed: the listener must ignore it itself.
    await inTransaction(t.container.db, (trx) =>
      t.container.scimLifecycle.groupDeleted(trx, {
        directoryId: w.dir.id,
        connectionId: w.conn.id,
        groupId: engGroup.id,
        groupDisplayName: 'engineering',
        groupExternalId: null,
        members: [{ scimUserId: w.scim.id, userId: w.user.id }],
        at,
        action: 'DELETE /Groups',
      }),
    );
    expect(await statusOf(w.eng.id, w.user.id)).toMatchObject({ status: 'active' });
  });

  it('re-adding to a granting group clears the removal record for that org', async () => {
    const w = await world();
    const engGroup = await b.scimGroup({ directory_id: w.dir.id, displayName: 'Engineering', members: [w.scim.id] });
    expect((await t.api('DELETE', `/api/v1/organizations/eng/members/${w.user.id}`)).status).toBe(204);
    await inTransaction(t.container.db, (trx) =>
      t.container.scimLifecycle.groupMembersAdded(trx, {
        directoryId: w.dir.id,
        connectionId: w.conn.id,
        groupId: engGroup.id,
        groupDisplayName: 'Engineering',
        groupExternalId: null,
        members: [{ scimUserId: w.scim.id, userId: w.user.id }],
        at,
        action: 'PATCH members add',
      }),
    );
    expect(await t.container.db('removal_records').where({ user_id: w.user.id })).toHaveLength(0);
  });
});

describe('membership_sync: scim_and_login', () => {
  it('applies SCIM group grants at once, after clearing the removal record the re-grant answers', async () => {
    const conn = await b.connection({ membership_sync: 'scim_and_login' });
    const dir = await b.directory({ connection_id: conn.id });
    const eng = await b.organization({ name: 'eng', connection_id: conn.id });
    await b.rule({ connection_id: conn.id, organization_id: eng.id, groups: ['Engineering'], role: 'admin' });
    const user = await b.user();
    const scim = await b.scimUser({ directory_id: dir.id, user_id: user.id });
    const group = await b.scimGroup({ directory_id: dir.id, displayName: 'Engineering', members: [scim.id] });
    await t.container.db('removal_records').insert({ organization_id: eng.id, user_id: user.id, removed_at: at, removed_by: '{}' });
    await inTransaction(t.container.db, (trx) =>
      t.container.scimLifecycle.groupMembersAdded(trx, {
        directoryId: dir.id,
        connectionId: conn.id,
        groupId: group.id,
        groupDisplayName: 'Engineering',
        groupExternalId: null,
        members: [{ scimUserId: scim.id, userId: user.id }],
        at,
        action: 'PATCH members add',
      }),
    );
    expect(await t.container.db('memberships').where({ organization_id: eng.id, user_id: user.id }).first()).toMatchObject({ role: 'admin', status: 'active' });
    expect(await t.container.events.list({ take: 10, types: ['membership.added'] })).toHaveLength(1);
  });

  it('leaves additions to the next login for on_login connections', async () => {
    const conn = await b.connection({ membership_sync: 'on_login' });
    const dir = await b.directory({ connection_id: conn.id });
    const eng = await b.organization({ name: 'eng', connection_id: conn.id });
    await b.rule({ connection_id: conn.id, organization_id: eng.id, groups: null });
    const user = await b.user();
    const scim = await b.scimUser({ directory_id: dir.id, user_id: user.id });
    await inTransaction(t.container.db, (trx) =>
      t.container.scimLifecycle.userProvisioned(trx, { directoryId: dir.id, connectionId: conn.id, scimUserId: scim.id, userId: user.id, at, action: 'POST /Users' }),
    );
    expect(await t.container.db('memberships').where({ user_id: user.id })).toHaveLength(0);
  });
});

describe('reconcile', () => {
  it('flags members of governed orgs with no user in the directory and returns the run', async () => {
    const w = await world();
    const stray = await b.user({ email: 'stray@acme.com' });
    await b.membership({ organization_id: w.eng.id, user_id: stray.id });
    await b.membership({ organization_id: w.other.id, user_id: stray.id });
    const key = await t.keyWith('update:directories');
    const res = await t.api('POST', `/api/v1/directories/${w.dir.id}/reconcile`, { key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      trigger: 'reconcile',
      connection_id: w.conn.id,
      flagged: [{ organization_id: w.eng.id, reason: 'not_in_directory', user_id: stray.id }],
    });
    const m = await statusOf(w.eng.id, stray.id);
    expect(m).toMatchObject({ status: 'flagged', flagged_reason: 'not_in_directory' });
    expect(JSON.parse(m.flag_evidence)).toMatchObject({ channel: 'reconcile', directory_id: w.dir.id });
    expect(await statusOf(w.other.id, stray.id)).toMatchObject({ status: 'active' });
    expect(await statusOf(w.eng.id, w.user.id)).toMatchObject({ status: 'active' });
    const again = await t.api('POST', `/api/v1/directories/${w.dir.id}/reconcile`);
    expect(again.body.flagged).toEqual([]);
    expect((await t.api('POST', `/api/v1/directories/${crypto.randomUUID()}/reconcile`)).status).toBe(404);
    expect((await t.api('POST', `/api/v1/directories/${w.dir.id}/reconcile`, { key: await t.keyWith('read:reports') })).status).toBe(403);
    const runs = await t.api('GET', `/api/v1/sync-runs?organization=eng`);
    expect(runs.body.sync_runs[0].id).toBe(res.body.id);

    // Provisioning the user in the directory restores the flag.
    const scim = await b.scimUser({ directory_id: w.dir.id, user_id: stray.id });
    await inTransaction(t.container.db, (trx) =>
      t.container.scimLifecycle.userProvisioned(trx, { directoryId: w.dir.id, connectionId: w.conn.id, scimUserId: scim.id, userId: stray.id, at, action: 'POST /Users' }),
    );
    expect(await statusOf(w.eng.id, stray.id)).toMatchObject({ status: 'active' });
  });
});
