import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory, type ScimClient } from '../helpers/scim-builders.js';

/**
 * Tenant isolation swept over every route. API keys are instance-wide (SPEC §5 scopes carry no
 * organization), so in the management API the tenant is the organization: a member, removal or
 * report of one organization is never reached through another's URL. In SCIM the tenant is the
 * directory: another directory's token is 401, another directory's resource id is 404.
 */
interface Tenant {
  org: string;
  scim: ScimClient;
  userId: string;
  scimUserId: string;
  scimGroupId: string;
  userName: string;
}

let t: TestApp;
let A: Tenant;
let B: Tenant;

async function tenant(name: string): Promise<Tenant> {
  const org = (await t.api('POST', '/api/v1/organizations', { body: { name } })).body.id as string;
  const scim = await createScimDirectory(t, { domains: [`${name}.example`], name });
  const userName = `person@${name}.example`;
  const u = await scim.req('POST', '/Users', { body: { userName, emails: [{ value: userName, primary: true }], active: true } });
  expect(u.status, u.text).toBe(201);
  const g = await scim.req('POST', '/Groups', { body: { displayName: `${name} staff`, members: [{ value: u.body.id }] } });
  expect(g.status, g.text).toBe(201);
  const userId = (await t.container.db('scim_users').where({ id: u.body.id }).first()).user_id as string;
  const added = await t.api('POST', `/api/v1/organizations/${org}/members`, { body: { members: [userId], role: 'admin' } });
  expect(added.status, added.text).toBe(204);
  return { org, scim, userId, scimUserId: u.body.id, scimGroupId: g.body.id, userName };
}

beforeAll(async () => {
  t = await startTestApp();
  A = await tenant('tenant-a');
  B = await tenant('tenant-b');
});
afterAll(async () => {
  await t.close();
});

type Operation = { method: string; path: string; params: string[]; hasBody: boolean; query: string[] };

async function operations(): Promise<Operation[]> {
  const doc = (await t.api('GET', '/api/v1/openapi.json', { key: null })).body as {
    paths: Record<string, Record<string, { requestBody?: unknown; parameters?: Array<{ name: string; in: string }> }>>;
  };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([m, op]) => ({
      method: m.toUpperCase(),
      path,
      params: [...path.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!),
      hasBody: op.requestBody !== undefined,
      query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
    })),
  );
}

/** A body each operation accepts, so the sweep reaches the lookup instead of stopping at validation. */
const bodies: Record<string, (target: { user: string }) => unknown> = {
  'PATCH /organizations/{org}': () => ({ display_name: 'Renamed' }),
  'PATCH /connections/{id}': () => ({ roles_managed_by: 'admin' }),
  'POST /connections/{id}/preview': () => ({ membership_rules: [] }),
  'POST /connections/{id}/sp-keys/rotate': () => ({ use: 'signing' }),
  'POST /connections/{id}/sp-keys/retire': () => ({}),
  'POST /organizations/{org}/members': (x) => ({ members: [x.user], role: 'member' }),
  'DELETE /organizations/{org}/members': (x) => ({ members: [x.user] }),
  'POST /organizations/{org}/invitations': () => ({ email: 'someone@elsewhere.example', role: 'member' }),
  'PATCH /organizations/{org}/members/{user}': () => ({ role: 'member' }),
  'POST /directories/{id}/tokens': () => ({}),
  'PATCH /directories/{id}': () => ({ name: 'Renamed' }),
  'POST /directories/{id}/reconcile': () => ({}),
  'PATCH /webhooks/{id}': () => ({ enabled: false }),
  'POST /webhooks/{id}/deliveries/{delivery}/redeliver': () => ({}),
  'POST /organizations/{org}/setup-links': () => ({ intents: ['sso'] }),
  'POST /connections/{id}/domain-challenges': () => ({ domain: 'example.com' }),
};

describe('management API sweep', () => {
  it('answers 404 on every route that names a resource, for ids that are not there', async () => {
    const ops = (await operations()).filter((o) => o.params.length > 0);
    expect(ops.length).toBeGreaterThan(10);
    const wrong: string[] = [];
    for (const op of ops) {
      const key = `${op.method} ${op.path}`;
      const unknown = randomUUID();
      const make = bodies[key];
      if (op.hasBody && !make) throw new Error(`add a sample body for ${key} to the sweep`);
      const path = op.path.replace(/\{(\w+)\}/g, () => unknown);
      const res = await t.api(op.method, `/api/v1${path}`, { body: make?.({ user: unknown }) });
      if (res.status !== 404 || res.body?.errorCode !== 'not_found') wrong.push(`${key} → ${res.status} ${res.text.slice(0, 120)}`);
    }
    expect(wrong).toEqual([]);
  });

  it("never reaches another organization's member through this organization's URL", async () => {
    const ops = (await operations()).filter((o) => o.params.includes('org') && o.params.includes('user'));
    expect(ops.map((o) => `${o.method} ${o.path}`).sort()).toEqual(['DELETE /organizations/{org}/members/{user}', 'DELETE /organizations/{org}/removals/{user}', 'PATCH /organizations/{org}/members/{user}']);
    for (const op of ops) {
      const make = bodies[`${op.method} ${op.path}`];
      const res = await t.api(op.method, `/api/v1${op.path.replace('{org}', A.org).replace('{user}', B.userId)}`, { body: make?.({ user: B.userId }) });
      expect(res.status, `${op.method} ${op.path}: ${res.text}`).toBe(404);
    }
    const bulk = await t.api('DELETE', `/api/v1/organizations/${A.org}/members`, { body: { members: [B.userId] } });
    expect(bulk.status).toBe(400);
    expect(bulk.body.message).toContain(B.userId);
    const still = await t.container.db('memberships').where({ organization_id: B.org, user_id: B.userId }).first();
    expect(still).toMatchObject({ role: 'admin', status: 'active' });
  });

  it("lists scoped to one organization show nothing of another's", async () => {
    const ops = (await operations()).filter((o) => o.method === 'GET' && (o.params.join() === 'org' || (o.params.length === 0 && o.query.includes('organization'))));
    expect(ops.length).toBeGreaterThanOrEqual(4);
    for (const op of ops) {
      const path = op.params.length ? op.path.replace('{org}', A.org) : `${op.path}?organization=${A.org}`;
      const res = await t.api('GET', `/api/v1${path}`);
      expect(res.status, `${path}: ${res.text}`).toBe(200);
      for (const foreign of [B.org, B.userId, B.userName]) expect(res.text, `${path} leaks ${foreign}`).not.toContain(foreign);
    }
    const members = await t.api('GET', `/api/v1/organizations/${A.org}/members`);
    expect(members.body.members.map((m: { user_id: string }) => m.user_id)).toEqual([A.userId]);
  });
});

describe('SCIM sweep', () => {
  const routes = (x: Tenant): Array<[string, string, unknown?]> => [
    ['GET', '/ServiceProviderConfig'],
    ['GET', '/ResourceTypes'],
    ['GET', '/Schemas'],
    ['GET', '/Users'],
    ['POST', '/Users', { userName: 'intruder@tenant-b.example' }],
    ['POST', '/Users/.search', { filter: 'userName pr' }],
    ['GET', `/Users/${x.scimUserId}`],
    ['PUT', `/Users/${x.scimUserId}`, { userName: x.userName, active: false }],
    ['PATCH', `/Users/${x.scimUserId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] }],
    ['DELETE', `/Users/${x.scimUserId}`],
    ['GET', '/Groups'],
    ['POST', '/Groups', { displayName: 'intruders' }],
    ['GET', `/Groups/${x.scimGroupId}`],
    ['PUT', `/Groups/${x.scimGroupId}`, { displayName: 'taken over', members: [] }],
    ['PATCH', `/Groups/${x.scimGroupId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove', path: 'members' }] }],
    ['DELETE', `/Groups/${x.scimGroupId}`],
    ['POST', '/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [{ method: 'DELETE', path: `/Users/${x.scimUserId}` }] }],
    ['GET', '/Me'],
  ];

  it("answers 401 on every route of another directory's URL with this directory's token", async () => {
    for (const [method, path, body] of routes(B)) {
      const res = await A.scim.req(method, `${B.scim.base}${path}`, { body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(401);
      expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    }
  });

  it("answers 404 for another directory's user and group ids under this directory's URL", async () => {
    for (const [method, path, body] of routes(B).filter(([, p]) => p.includes(B.scimUserId) || p.includes(B.scimGroupId))) {
      const res = await A.scim.req(method, path, { body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
    }
    const bulk = await A.scim.req('POST', '/Bulk', { body: routes(B).find(([, p]) => p === '/Bulk')![2] });
    expect(bulk.body.Operations[0].status).toBe('404');
    for (const filter of [`id eq "${B.scimUserId}"`, `userName eq "${B.userName}"`, `userName co "tenant-b"`]) {
      const res = await A.scim.req('GET', `/Users?filter=${encodeURIComponent(filter)}`);
      expect(res.body.totalResults, filter).toBe(0);
    }
    const groups = await A.scim.req('GET', `/Groups?filter=${encodeURIComponent(`displayName sw "tenant-b"`)}`);
    expect(groups.body.totalResults).toBe(0);
    const add = await A.scim.req('PATCH', `/Groups/${A.scimGroupId}`, { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: B.scimUserId }] }] } });
    expect(add.status).toBe(400);

    // B's resources are exactly as they were.
    const user = await B.scim.req('GET', `/Users/${B.scimUserId}`);
    expect(user.body).toMatchObject({ active: true, meta: { version: 'W/"1"' } });
    const group = await B.scim.req('GET', `/Groups/${B.scimGroupId}`);
    expect(group.body.members).toEqual([expect.objectContaining({ value: B.scimUserId })]);
  });
});
