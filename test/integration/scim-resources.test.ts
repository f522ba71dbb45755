import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory, overrideLifecycle, type ScimClient } from '../helpers/scim-builders.js';

let t: TestApp;
let s: ScimClient;
beforeEach(async () => {
  t = await startTestApp();
  s = await createScimDirectory(t, { domains: ['acme.test'] });
});
afterEach(async () => {
  await t.close();
});

const createUser = async (body: Record<string, unknown>) => {
  const res = await s.req('POST', '/Users', { body });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; meta: { version: string } };
};

describe('ETags', () => {
  it('returns meta.version as ETag and answers a stale If-Match with 412, changing nothing', async () => {
    const u = await createUser({ userName: 'e@acme.test' });
    expect(u.meta.version).toBe('W/"1"');
    const got = await s.req('GET', `/Users/${u.id}`);
    expect(got.headers.get('etag')).toBe('W/"1"');
    const ok = await s.req('PATCH', `/Users/${u.id}`, { headers: { 'if-match': 'W/"1"' }, body: { Operations: [{ op: 'replace', path: 'title', value: 'A' }] } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('W/"2"');
    const stale = await s.req('PUT', `/Users/${u.id}`, { headers: { 'if-match': 'W/"1"' }, body: { userName: 'e@acme.test', title: 'B' } });
    expect(stale.status).toBe(412);
    expect(stale.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect((await s.req('DELETE', `/Users/${u.id}`, { headers: { 'if-match': '"1"' } })).status).toBe(412);
    expect((await s.req('GET', `/Users/${u.id}`)).body.title).toBe('A');
    expect((await s.req('PATCH', `/Users/${u.id}`, { headers: { 'if-match': '*' }, body: { Operations: [{ op: 'replace', path: 'title', value: 'C' }] } })).status).toBe(200);
    // A PATCH that changes nothing keeps the version.
    const same = await s.req('PATCH', `/Users/${u.id}`, { body: { Operations: [{ op: 'replace', path: 'title', value: 'C' }] } });
    expect(same.body.meta.version).toBe('W/"3"');
    const g = (await s.req('POST', '/Groups', { body: { displayName: 'G' } })).body;
    expect((await s.req('PATCH', `/Groups/${g.id}`, { headers: { 'if-match': 'W/"9"' }, body: { Operations: [{ op: 'replace', path: 'displayName', value: 'H' }] } })).status).toBe(412);
  });
});

describe('uniqueness (database constraints, mapped on both databases)', () => {
  it('answers 409 uniqueness for userName in any case and group displayName, per directory', async () => {
    const a = await createUser({ userName: 'Same@Acme.test' });
    const dup = await s.req('POST', '/Users', { body: { userName: 'same@ACME.test' } });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    const b = await createUser({ userName: 'other@acme.test' });
    const rename = await s.req('PATCH', `/Users/${b.id}`, { body: { Operations: [{ op: 'replace', path: 'userName', value: 'SAME@acme.test' }] } });
    expect(rename.body.scimType).toBe('uniqueness');
    expect((await s.req('PUT', `/Users/${b.id}`, { body: { userName: 'same@acme.test' } })).status).toBe(409);
    expect((await s.req('GET', `/Users/${a.id}`)).status).toBe(200);
    expect((await s.req('POST', '/Groups', { body: { displayName: 'Team' } })).status).toBe(201);
    expect((await s.req('POST', '/Groups', { body: { displayName: 'TEAM' } })).body.scimType).toBe('uniqueness');
    // Another directory may use the same names.
    const other = await createScimDirectory(t);
    expect((await other.req('POST', '/Users', { body: { userName: 'same@acme.test' } })).status).toBe(201);
    expect((await other.req('POST', '/Groups', { body: { displayName: 'team' } })).status).toBe(201);
  });
});

describe('linking SCIM users to global users (SPEC §2)', () => {
  it('links by identity externalId, else by email in a verified domain, else creates the user', async () => {
    const db = t.container.db;
    const now = new Date().toISOString();
    const insertUser = (id: string, email: string) =>
      db('users').insert({ id, email, email_lower: email.toLowerCase(), name: 'Existing', active: true, created_at: now, updated_at: now });
    await insertUser('u-ident', 'someone@elsewhere.test');
    await db('identities').insert({ id: 'i1', user_id: 'u-ident', connection_id: s.connectionId, subject: 'sub-1', external_id: 'oid-1', created_at: now });
    await insertUser('u-verified', 'known@acme.test');
    await insertUser('u-unverified', 'known@unverified.test');

    const byIdentity = await createUser({ userName: 'fresh@acme.test', externalId: 'oid-1' });
    const byEmail = await createUser({ userName: 'KNOWN@acme.test' });
    const notClaimed = await createUser({ userName: 'x1@acme.test', emails: [{ value: 'known@unverified.test', primary: true }] });
    const byPrimaryEmail = await createUser({ userName: 'employee-42', emails: [{ value: 'Known@Acme.test', primary: true }] });
    const linked = async (id: string) => (await db('scim_users').where({ id }).first()).user_id as string;
    expect(await linked(byIdentity.id)).toBe('u-ident');
    expect(await linked(byEmail.id)).toBe('u-verified');
    expect(await linked(byPrimaryEmail.id)).toBe('u-verified');
    const created = await linked(notClaimed.id);
    expect(['u-ident', 'u-verified', 'u-unverified']).not.toContain(created);
    // The account takes the email in the connection's verified domain, never the unverified claim.
    expect(await db('users').where({ id: created }).first()).toMatchObject({ email: 'x1@acme.test', bound_connection_id: null, active: expect.anything() });
  });

  it('keeps the global user in step, keeps it on DELETE with a tombstone, and clears the tombstone on re-create', async () => {
    const db = t.container.db;
    const u = await createUser({ userName: 'pat@acme.test', name: { givenName: 'Pat', familyName: 'Lee' } });
    const userId = (await db('scim_users').where({ id: u.id }).first()).user_id;
    expect(await db('users').where({ id: userId }).first()).toMatchObject({ email: 'pat@acme.test', name: 'Pat Lee', given_name: 'Pat', family_name: 'Lee' });
    await s.req('PATCH', `/Users/${u.id}`, { body: { Operations: [{ op: 'replace', value: { displayName: 'Patricia', active: false, 'name.givenName': 'Patricia' } }] } });
    const after = await db('users').where({ id: userId }).first();
    expect(after).toMatchObject({ name: 'Patricia', given_name: 'Patricia' });
    expect(Boolean(after.active)).toBe(false);
    expect((await s.req('DELETE', `/Users/${u.id}`)).status).toBe(204);
    expect((await s.req('GET', `/Users/${u.id}`)).status).toBe(404);
    expect(await db('users').where({ id: userId }).first()).toBeTruthy();
    expect(await db('scim_user_tombstones').where({ user_id: userId })).toHaveLength(1);
    const again = await createUser({ userName: 'pat@acme.test' });
    expect((await db('scim_users').where({ id: again.id }).first()).user_id).toBe(userId);
    expect(await db('scim_user_tombstones').where({ user_id: userId })).toHaveLength(0);
    const actions = (await db('audit_events').where({ target_user_id: userId }).orderBy('seq').pluck('action')) as string[];
    expect(actions).toEqual(['user.provisioned', 'user.updated', 'user.deactivated', 'user.deleted', 'user.provisioned']);
  });
});

describe('lifecycle listener runs inside the SCIM write transaction', () => {
  it('a listener that throws rolls back the user change, its audit event and its outbox event', async () => {
    const u = await createUser({ userName: 'roll@acme.test' });
    const before = { audit: await t.container.db('audit_events').count({ n: '*' }), events: await t.container.db('events').count({ n: '*' }) };
    overrideLifecycle(t, { userDeactivated: async () => { throw new Error('flagging failed'); } });
    const res = await s.req('PATCH', `/Users/${u.id}`, { body: { Operations: [{ op: 'replace', path: 'active', value: false }, { op: 'replace', path: 'title', value: 'Gone' }] } });
    expect(res.status).toBe(500);
    const after = await s.req('GET', `/Users/${u.id}`);
    expect(after.body).toMatchObject({ active: true, meta: { version: 'W/"1"' } });
    expect(after.body.title).toBeUndefined();
    expect(await t.container.db('audit_events').count({ n: '*' })).toEqual(before.audit);
    expect(await t.container.db('events').count({ n: '*' })).toEqual(before.events);
  });

  it('a failing group listener leaves the member rows untouched', async () => {
    const u = await createUser({ userName: 'm@acme.test' });
    const g = (await s.req('POST', '/Groups', { body: { displayName: 'G' } })).body;
    overrideLifecycle(t, { groupMembersAdded: async () => { throw new Error('nope'); } });
    expect((await s.req('PATCH', `/Groups/${g.id}`, { body: { Operations: [{ op: 'add', path: 'members', value: [{ value: u.id }] }] } })).status).toBe(500);
    expect(await t.container.db('scim_group_members').where({ group_id: g.id })).toHaveLength(0);
  });
});

describe('groups', () => {
  it('adds idempotently (JumpCloud/OneLogin), removes by filter or value, replaces, and reports only real changes', async () => {
    const calls: Array<[string, string[]]> = [];
    const rec = (hook: string) => async (_trx: unknown, c: { members: Array<{ scimUserId: string }> }) => {
      calls.push([hook, c.members.map((m) => m.scimUserId).sort()]);
    };
    overrideLifecycle(t, { groupMembersAdded: rec('added'), groupMembersRemoved: rec('removed'), groupDeleted: rec('deleted') });
    const [a, b, c] = [await createUser({ userName: 'a@acme.test' }), await createUser({ userName: 'b@acme.test' }), await createUser({ userName: 'c@acme.test' })];
    const g = (await s.req('POST', '/Groups', { body: { id: null, displayName: 'Crew', members: [{ value: a.id }] } })).body;
    const patch = (Operations: unknown[]) => s.req('PATCH', `/Groups/${g.id}`, { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations } });
    expect((await patch([{ op: 'add', path: 'members', value: [{ value: a.id }, { value: b.id }] }])).status).toBe(204);
    expect((await patch([{ op: 'add', path: 'members', value: [{ value: b.id }] }])).status).toBe(204);
    expect((await patch([{ op: 'remove', path: `members[value eq "${c.id}"]` }])).status).toBe(204); // not a member: no-op
    const members = async () => ((await s.req('GET', `/Groups/${g.id}`)).body.members as Array<{ value: string }>).map((m) => m.value).sort();
    expect(await members()).toEqual([a.id, b.id].sort());
    expect((await patch([{ op: 'replace', path: 'members', value: [{ value: b.id }, { value: c.id }] }])).status).toBe(204);
    expect(await members()).toEqual([b.id, c.id].sort());
    expect((await patch([{ op: 'remove', path: 'members[display eq "c@acme.test"]' }])).status).toBe(204);
    expect(await members()).toEqual([b.id]);
    const unknown = await patch([{ op: 'add', path: 'members', value: [{ value: c.id }, { value: 'no-such-user' }] }]);
    expect([unknown.status, unknown.body.scimType]).toEqual([400, 'invalidValue']);
    expect(await members()).toEqual([b.id]);
    // PUT without members keeps them; with [] clears them.
    expect((await s.req('PUT', `/Groups/${g.id}`, { body: { displayName: 'Crew 2' } })).body.members).toHaveLength(1);
    expect((await s.req('PUT', `/Groups/${g.id}`, { body: { displayName: 'Crew 2', members: [] } })).body.members).toEqual([]);
    expect((await s.req('DELETE', `/Groups/${g.id}`)).status).toBe(204);
    expect(calls).toEqual([
      ['added', [a.id]],
      ['added', [b.id]],
      ['added', [c.id]],
      ['removed', [a.id]],
      ['removed', [c.id]],
      ['removed', [b.id]],
      ['deleted', []],
    ]);
    const rows = await t.container.db('scim_group_members');
    expect(rows).toHaveLength(0);
  });

  it('adds and removes more members in one request than one SQL statement takes', async () => {
    const now = new Date().toISOString();
    const ids = Array.from({ length: 1200 }, (_, i) => `u-${String(i).padStart(5, '0')}`);
    for (let i = 0; i < ids.length; i += 200) {
      await t.container.db('scim_users').insert(
        ids.slice(i, i + 200).map((id) => ({ id, directory_id: s.directoryId, user_name: `${id}@acme.test`, user_name_lower: `${id}@acme.test`, active: true, data: JSON.stringify({ userName: `${id}@acme.test`, active: true }), version: 1, created_at: now, updated_at: now })),
      );
    }
    const g = (await s.req('POST', '/Groups', { body: { displayName: 'Big' } })).body;
    const add = await s.req('PATCH', `/Groups/${g.id}`, { body: { Operations: [{ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }] } });
    expect(add.status, add.text).toBe(204);
    const remove = await s.req('PATCH', `/Groups/${g.id}`, { body: { Operations: [{ op: 'remove', path: 'members', value: ids.slice(0, 600).map((value) => ({ value })) }] } });
    expect(remove.status).toBe(204);
    const rows = await t.container.db('scim_group_members').where({ group_id: g.id }).orderBy('scim_user_id').pluck('scim_user_id');
    expect(rows).toEqual(ids.slice(600));
  });

  it('deleting a user removes it from its groups but keeps the groups', async () => {
    const u = await createUser({ userName: 'gone@acme.test' });
    const g = (await s.req('POST', '/Groups', { body: { displayName: 'Keep', members: [{ value: u.id }] } })).body;
    await s.req('DELETE', `/Users/${u.id}`);
    expect((await s.req('GET', `/Groups/${g.id}`)).body.members).toEqual([]);
  });
});

describe('discovery', () => {
  it('serves ServiceProviderConfig, ResourceTypes and Schemas without password', async () => {
    const spc = await s.req('GET', '/ServiceProviderConfig');
    expect(spc.body).toMatchObject({ patch: { supported: true }, bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 }, filter: { supported: true, maxResults: 1000 }, etag: { supported: true }, sort: { supported: true } });
    const types = await s.req('GET', '/ResourceTypes');
    expect(types.body.Resources.map((r: { id: string }) => r.id)).toEqual(['User', 'Group']);
    expect((await s.req('GET', '/ResourceTypes/User')).body.schemaExtensions).toEqual([{ schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false }]);
    const schemas = await s.req('GET', '/Schemas');
    expect(schemas.body.totalResults).toBe(6);
    expect(schemas.text).not.toMatch(/"password"/);
    const user = await s.req('GET', '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User');
    expect(user.body.attributes.map((a: { name: string }) => a.name)).toContain('userName');
    expect((await s.req('GET', '/Schemas/urn:nope')).status).toBe(404);
    // password sent on create is ignored, never stored or returned
    const u = await createUser({ userName: 'pw@acme.test', password: 'hunter2' });
    expect(JSON.stringify(await t.container.db('scim_users').where({ id: u.id }).first())).not.toContain('hunter2');
  });

  it('accepts application/json as well as application/scim+json, and .search', async () => {
    const r = await s.req('POST', '/Users', { headers: { 'content-type': 'application/json; charset=utf-8' }, body: { userName: 'json@acme.test' } });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`${t.url}${s.base}/Users/${r.body.id}`);
    const found = await s.req('POST', '/Users/.search', { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq "JSON@acme.test"', attributes: ['userName'] } });
    expect(found.body.Resources).toEqual([{ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: r.body.id, userName: 'json@acme.test' }]);
  });
});
