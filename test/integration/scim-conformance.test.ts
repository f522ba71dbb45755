import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory, type ScimClient } from '../helpers/scim-builders.js';

/**
 * RFC 7643/7644 checks an independent SCIM compliance tester ran against orgsync and found wanting,
 * each reproduced here over real HTTP.
 */
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let t: TestApp;
let s: ScimClient;
beforeEach(async () => {
  t = await startTestApp();
  s = await createScimDirectory(t, { domains: ['acme.test'] });
});
afterEach(async () => {
  await t.close();
});

const create = async (path: '/Users' | '/Groups', body: Record<string, unknown>) => {
  const res = await s.req('POST', path, { body });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; meta: { version: string } } & Record<string, unknown>;
};
const patch = (path: string, Operations: unknown[], headers?: Record<string, string>) => s.req('PATCH', path, { body: { schemas: [PATCH_OP], Operations }, headers });
const auditActions = async () => (await t.container.db('audit_events').where({ actor_type: 'scim' }).orderBy('seq').select('action')).map((r) => r.action as string);

describe('PATCH with the bare extension URN as path', () => {
  it('applies add, replace and remove to the extension attributes', async () => {
    const manager = await create('/Users', { userName: 'boss@acme.test' });
    const u = await create('/Users', { userName: 'ext@acme.test', [ENTERPRISE]: { department: 'Sales', employeeNumber: 'E-1' } });

    const added = await patch(`/Users/${u.id}`, [{ op: 'add', path: ENTERPRISE, value: { costCenter: 'CC-7', department: 'Ops' } }]);
    expect(added.status, added.text).toBe(200);
    expect(added.body[ENTERPRISE]).toEqual({ department: 'Ops', employeeNumber: 'E-1', costCenter: 'CC-7' });

    // Entra's capitalised op; attributes not named are kept (RFC 7644 §3.5.2.3).
    const replaced = await patch(`/Users/${u.id}`, [{ op: 'Replace', path: ENTERPRISE, value: { department: 'R&D', manager: { value: manager.id } } }]);
    expect(replaced.body[ENTERPRISE]).toEqual({ department: 'R&D', employeeNumber: 'E-1', costCenter: 'CC-7', manager: { value: manager.id } });

    const some = await patch(`/Users/${u.id}`, [{ op: 'remove', path: ENTERPRISE, value: { costCenter: 'CC-7' } }]);
    expect(some.body[ENTERPRISE]).toEqual({ department: 'R&D', employeeNumber: 'E-1', manager: { value: manager.id } });

    const removed = await patch(`/Users/${u.id}`, [{ op: 'remove', path: ENTERPRISE }]);
    expect(removed.status).toBe(200);
    expect(removed.body[ENTERPRISE]).toBeUndefined();
    const stored = await s.req('GET', `/Users/${u.id}`);
    expect(stored.body[ENTERPRISE]).toBeUndefined();
    expect(stored.body.meta.version).toBe('W/"5"');
    expect(await auditActions()).toEqual(['user.provisioned', 'user.provisioned', 'user.updated', 'user.updated', 'user.updated', 'user.updated']);
  });

  it('refuses a value that is not an object of attributes', async () => {
    const u = await create('/Users', { userName: 'ext2@acme.test' });
    const res = await patch(`/Users/${u.id}`, [{ op: 'add', path: ENTERPRISE, value: 'Sales' }]);
    expect([res.status, res.body.scimType]).toEqual([400, 'invalidValue']);
  });
});

describe('removing active never grants access back', () => {
  it('keeps a deactivated user deactivated after remove active, replace active null or a PUT without active', async () => {
    const u = await create('/Users', { userName: 'gone@acme.test' });
    expect((await patch(`/Users/${u.id}`, [{ op: 'replace', path: 'active', value: false }])).body.active).toBe(false);

    const removed = await patch(`/Users/${u.id}`, [{ op: 'remove', path: 'active' }]);
    expect(removed.status, removed.text).toBe(200);
    expect(removed.body.active).toBe(false);
    expect((await patch(`/Users/${u.id}`, [{ op: 'Replace', path: 'active', value: null }])).body.active).toBe(false);
    const put = await s.req('PUT', `/Users/${u.id}`, { body: { userName: 'gone@acme.test', title: 'Former' } });
    expect(put.status).toBe(200);
    expect(put.body.active).toBe(false);

    expect((await s.req('GET', `/Users/${u.id}`)).body.active).toBe(false);
    const row = await t.container.db('scim_users').where({ id: u.id }).first();
    expect(Boolean(Number((await t.container.db('users').where({ id: row.user_id }).first()).active))).toBe(false);
    expect(await auditActions()).toEqual(['user.provisioned', 'user.deactivated', 'user.updated']);

    // And an active user stays active: removing the attribute changes nothing.
    const here = await create('/Users', { userName: 'here@acme.test' });
    const kept = await patch(`/Users/${here.id}`, [{ op: 'remove', path: 'active' }]);
    expect([kept.body.active, kept.body.meta.version]).toEqual([true, 'W/"1"']);
    // Within one request, a removal keeps the value the operations before it left.
    const both = await patch(`/Users/${here.id}`, [{ op: 'replace', path: 'active', value: false }, { op: 'remove', path: 'active' }]);
    expect(both.body.active).toBe(false);
  });
});

describe('unknown attribute paths', () => {
  it('fails with invalidPath (or mutability for read-only ones) and changes nothing', async () => {
    const u = await create('/Users', { userName: 'strict@acme.test', title: 'Before', emails: [{ type: 'work', value: 'strict@acme.test' }] });
    const cases: Array<[unknown[], string]> = [
      [[{ op: 'replace', path: 'favoriteColor', value: 'blue' }], 'invalidPath'],
      [[{ op: 'add', path: 'name.nickname', value: 'x' }], 'invalidPath'],
      [[{ op: 'remove', path: 'favoriteColor' }], 'invalidPath'],
      [[{ op: 'replace', path: 'emails[type eq "work"].label', value: 'x' }], 'invalidPath'],
      [[{ op: 'replace', path: `${ENTERPRISE}:shoeSize`, value: '44' }], 'invalidPath'],
      [[{ op: 'replace', path: 'urn:example:unknown:2.0:User:title', value: 'x' }], 'invalidPath'],
      [[{ op: 'replace', path: 'id', value: 'mine' }], 'mutability'],
      [[{ op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' }], 'mutability'],
      [[{ op: 'add', path: 'groups', value: [{ value: 'g' }] }], 'mutability'],
      // The first operation is valid: the request fails as a whole.
      [[{ op: 'replace', path: 'title', value: 'After' }, { op: 'replace', path: 'favoriteColor', value: 'blue' }], 'invalidPath'],
    ];
    for (const [ops, scimType] of cases) {
      const res = await patch(`/Users/${u.id}`, ops);
      expect([res.status, res.body.scimType], JSON.stringify(ops)).toEqual([400, scimType]);
    }
    const after = await s.req('GET', `/Users/${u.id}`);
    expect(after.body).toMatchObject({ title: 'Before', meta: { version: 'W/"1"' } });
  });

  it('fails on groups too, while keys of a value object stay lenient as on create', async () => {
    const g = await create('/Groups', { displayName: 'Strict' });
    const unknown = await patch(`/Groups/${g.id}`, [{ op: 'replace', path: 'description', value: 'x' }]);
    expect([unknown.status, unknown.body.scimType]).toEqual([400, 'invalidPath']);
    const readOnly = await patch(`/Groups/${g.id}`, [{ op: 'replace', path: 'id', value: 'x' }]);
    expect([readOnly.status, readOnly.body.scimType]).toEqual([400, 'mutability']);
    // Okta renames with the whole group in value (read-only id included); unknown keys are ignored.
    const lenient = await patch(`/Groups/${g.id}`, [{ op: 'replace', value: { id: g.id, displayName: 'Renamed', description: 'x' } }]);
    expect(lenient.status).toBe(204);
    expect((await s.req('GET', `/Groups/${g.id}`)).body.displayName).toBe('Renamed');
    const u = await create('/Users', { userName: 'lenient@acme.test' });
    const userLenient = await patch(`/Users/${u.id}`, [{ op: 'replace', value: { title: 'T', favoriteColor: 'blue', password: 'p' } }]);
    expect([userLenient.status, userLenient.body.title, userLenient.body.favoriteColor]).toEqual([200, 'T', undefined]);
  });
});

describe('If-None-Match', () => {
  it('answers 304 without a body when the version matches, 200 otherwise', async () => {
    const u = await create('/Users', { userName: 'etag@acme.test' });
    for (const tag of ['W/"1"', '"1"', '*', 'W/"0", W/"1"']) {
      const res = await s.req('GET', `/Users/${u.id}`, { headers: { 'if-none-match': tag } });
      expect([res.status, res.text, res.headers.get('etag')], tag).toEqual([304, '', 'W/"1"']);
    }
    expect((await s.req('GET', `/Users/${u.id}`, { headers: { 'if-none-match': 'W/"2"' } })).status).toBe(200);
    await patch(`/Users/${u.id}`, [{ op: 'replace', path: 'title', value: 'New' }]);
    const changed = await s.req('GET', `/Users/${u.id}`, { headers: { 'if-none-match': 'W/"1"' } });
    expect([changed.status, changed.body.title]).toEqual([200, 'New']);

    const g = await create('/Groups', { displayName: 'Tagged' });
    expect((await s.req('GET', `/Groups/${g.id}`, { headers: { 'if-none-match': g.meta.version } })).status).toBe(304);

    // Another directory's resource is never confirmed by a 304, whatever the tag.
    const other = await createScimDirectory(t);
    const theirs = (await other.req('POST', '/Users', { body: { userName: 'theirs@acme.test' } })).body.id as string;
    const res = await s.req('GET', `/Users/${theirs}`, { headers: { 'if-none-match': '*' } });
    expect([res.status, res.body.schemas]).toEqual([404, ['urn:ietf:params:scim:api:messages:2.0:Error']]);
    expect((await s.req('GET', `${other.base}/Users/${theirs}`, { headers: { 'if-none-match': '*' } })).status).toBe(401);
  });
});

describe('/Schemas', () => {
  it('describes the discovery resources too, and every attribute they return', async () => {
    const list = await s.req('GET', '/Schemas');
    const ids = list.body.Resources.map((r: { id: string }) => r.id);
    expect(ids).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User',
      ENTERPRISE,
      'urn:ietf:params:scim:schemas:core:2.0:Group',
      'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
      'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
      'urn:ietf:params:scim:schemas:core:2.0:Schema',
    ]);
    expect(list.body.totalResults).toBe(6);
    const names = async (id: string) => ((await s.req('GET', `/Schemas/${id}`)).body.attributes as Array<{ name: string }>).map((a) => a.name);
    const returned = (r: Record<string, unknown>) => Object.keys(r).filter((k) => k !== 'schemas' && k !== 'meta');
    const spc = (await s.req('GET', '/ServiceProviderConfig')).body;
    expect(await names(spc.schemas[0])).toEqual(expect.arrayContaining(returned(spc)));
    const rt = (await s.req('GET', '/ResourceTypes/User')).body;
    expect(await names(rt.schemas[0])).toEqual(expect.arrayContaining(returned(rt)));
    const schemaSchema = (await s.req('GET', `/Schemas/${list.body.Resources[0].schemas[0]}`)).body;
    expect(schemaSchema.id).toBe('urn:ietf:params:scim:schemas:core:2.0:Schema');
    expect(schemaSchema.attributes.find((a: { name: string }) => a.name === 'attributes').subAttributes.map((a: { name: string }) => a.name)).toEqual(
      expect.arrayContaining(['name', 'type', 'multiValued', 'mutability', 'returned', 'uniqueness', 'subAttributes']),
    );
  });
});

describe('root queries across resource types', () => {
  it('POST /.search and GET / return Users then Groups, paged over both, scoped to the directory', async () => {
    const a = await create('/Users', { userName: 'eng.lead@acme.test', displayName: 'Engineering Lead' });
    await create('/Users', { userName: 'sales@acme.test', displayName: 'Sales Person' });
    const g = await create('/Groups', { displayName: 'Engineering', members: [{ value: a.id }] });
    const other = await createScimDirectory(t);
    await other.req('POST', '/Users', { body: { userName: 'eng.other@acme.test', displayName: 'Engineering Other' } });
    await other.req('POST', '/Groups', { body: { displayName: 'Engineering Other' } });

    const search = (body: Record<string, unknown>) => s.req('POST', '/.search', { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], ...body } });
    const both = await search({ filter: 'displayName sw "engineering"' });
    expect(both.status, both.text).toBe(200);
    expect(both.body.totalResults).toBe(2);
    expect(both.body.Resources.map((r: { id: string }) => r.id)).toEqual([a.id, g.id]);
    expect(both.body.Resources[1].schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:Group']);

    // Attributes one type lacks match nothing of that type.
    expect((await search({ filter: 'userName sw "eng"' })).body.Resources.map((r: { id: string }) => r.id)).toEqual([a.id]);
    expect((await search({ filter: `members.value eq "${a.id}"` })).body.Resources.map((r: { id: string }) => r.id)).toEqual([g.id]);
    expect((await search({ filter: 'userName eq "sales@acme.test" or displayName eq "Engineering"' })).body.totalResults).toBe(2);

    const page = await search({ startIndex: 2, count: 2, attributes: ['displayName'] });
    expect(page.body).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 2 });
    expect(page.body.Resources.map((r: { displayName: string }) => r.displayName)).toEqual(['Sales Person', 'Engineering']);
    expect(page.body.Resources[0].userName).toBeUndefined();

    const get = await s.req('GET', `/?filter=${encodeURIComponent('displayName co "engineering"')}&count=1`);
    expect(get.body).toMatchObject({ totalResults: 2, itemsPerPage: 1 });

    const bad = await search({ filter: 'shoeSize eq "44"' });
    expect([bad.status, bad.body.scimType]).toEqual([400, 'invalidFilter']);
    expect((await s.req('GET', '/.search')).status).toBe(405);
  });
});
