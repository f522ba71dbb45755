import { afterEach, beforeEach, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { insertConnection } from '../helpers/scim-builders.js';

let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(async () => {
  await t.close();
});

it('answers /Me with 501 and says why, in the SCIM error shape', async () => {
  const conn = await insertConnection(t.container.db, { name: 'acme-okta' });
  const dir = (await t.api('POST', '/api/v1/directories', { body: { connection_id: conn, name: 'Acme' } })).body;
  const res = await fetch(`${dir.scim_base_url}/Me`, { headers: { authorization: `Bearer ${dir.token}` } });
  expect(res.status).toBe(501);
  expect(await res.json()).toEqual({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: '501',
    detail: '/Me is not supported: SCIM clients here are identity providers, not users.',
  });
});
