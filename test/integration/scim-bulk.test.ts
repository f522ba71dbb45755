import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory, type ScimClient } from '../helpers/scim-builders.js';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
let t: TestApp;
let s: ScimClient;
beforeEach(async () => {
  t = await startTestApp();
  s = await createScimDirectory(t);
});
afterEach(async () => {
  await t.close();
});

describe('Bulk (RFC 7644 §3.7)', () => {
  it('resolves bulkId references, including one to an operation later in the list', async () => {
    const res = await s.req('POST', '/Bulk', {
      body: {
        schemas: [BULK],
        Operations: [
          { method: 'POST', path: '/Groups', bulkId: 'g1', data: { displayName: 'Bulk team', members: [{ value: 'bulkId:u1' }, { value: 'bulkId:u2' }] } },
          { method: 'POST', path: '/Users', bulkId: 'u1', data: { userName: 'one@example.com' } },
          { method: 'POST', path: '/Users', bulkId: 'u2', data: { userName: 'two@example.com' } },
          { method: 'PATCH', path: '/Users/bulkId:u2', data: { Operations: [{ op: 'replace', path: 'title', value: 'Second' }] } },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse']);
    const ops = res.body.Operations as Array<{ method: string; bulkId?: string; status: string; location?: string; version?: string }>;
    expect(ops.map((o) => [o.method, o.bulkId, o.status])).toEqual([
      ['POST', 'g1', '201'],
      ['POST', 'u1', '201'],
      ['POST', 'u2', '201'],
      ['PATCH', undefined, '200'],
    ]);
    expect(ops[0]!.location).toMatch(new RegExp(`${s.base}/Groups/`));
    const group = await s.req('GET', ops[0]!.location!.slice(t.url.length));
    const u1 = ops[1]!.location!.split('/').pop();
    const u2 = ops[2]!.location!.split('/').pop();
    expect(group.body.members.map((m: { value: string }) => m.value).sort()).toEqual([u1, u2].sort());
    expect((await s.req('GET', `/Users/${u2}`)).body.title).toBe('Second');
  });

  it('runs each operation on its own and stops after failOnErrors failures', async () => {
    const res = await s.req('POST', '/Bulk', {
      body: {
        schemas: [BULK],
        failOnErrors: 1,
        Operations: [
          { method: 'POST', path: '/Users', bulkId: 'a', data: { userName: 'a@example.com' } },
          { method: 'POST', path: '/Users', bulkId: 'dup', data: { userName: 'A@example.com' } },
          { method: 'POST', path: '/Users', bulkId: 'c', data: { userName: 'c@example.com' } },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.Operations).toHaveLength(2);
    expect(res.body.Operations[1]).toMatchObject({ bulkId: 'dup', status: '409', response: { scimType: 'uniqueness', status: '409' } });
    expect((await s.req('GET', '/Users')).body.totalResults).toBe(1);

    const all = await s.req('POST', '/Bulk', {
      body: {
        schemas: [BULK],
        Operations: [
          { method: 'DELETE', path: '/Users/does-not-exist' },
          { method: 'POST', path: '/Users', bulkId: 'c', data: { userName: 'c@example.com' } },
          { method: 'POST', path: '/Groups', bulkId: 'g', data: { displayName: 'x', members: [{ value: 'bulkId:missing' }] } },
        ],
      },
    });
    expect(all.body.Operations.map((o: { status: string }) => o.status)).toEqual(['404', '201', '409']);
  });

  it('enforces maxOperations (413) and maxPayloadSize (413), and refuses malformed requests', async () => {
    const ops = Array.from({ length: 1001 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: { userName: `u${i}@example.com` } }));
    const tooMany = await s.req('POST', '/Bulk', { body: { schemas: [BULK], Operations: ops } });
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect((await s.req('GET', '/Users')).body.totalResults).toBe(0);
    const big = await s.req('POST', '/Bulk', { body: { schemas: [BULK], Operations: [{ method: 'POST', path: '/Users', bulkId: 'x', data: { userName: 'x@example.com', title: 'y'.repeat(1024 * 1024) } }] } });
    expect(big.status).toBe(413);
    expect((await s.req('POST', '/Bulk', { body: { schemas: [BULK], Operations: [{ method: 'POST', path: '/Bulk', bulkId: 'n', data: {} }] } })).status).toBe(400);
    expect((await s.req('POST', '/Bulk', { body: { schemas: [BULK], Operations: [{ method: 'POST', path: '/Users', data: {} }] } })).body.scimType).toBe('invalidValue');
    expect((await s.req('POST', '/Bulk', { body: { schemas: [BULK] } })).body.scimType).toBe('invalidSyntax');
  });
});
