import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ALL_SCOPES } from '../../src/http/scopes.js';

/**
 * Tenant trust (SPEC §2): a key never exceeds its creator. An attacker holding a narrow key (one
 * handed to automation with only `create:api_keys` or only `delete:api_keys`) must not mint an
 * admin key or revoke the operator's admin key.
 */
let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(() => t.close());

const keyIdByName = async (name: string): Promise<string> => {
  const list = await t.api('GET', '/api/v1/api-keys?take=1000');
  const found = (list.body.api_keys as Array<{ id: string; name: string }>).find((k) => k.name === name);
  if (!found) throw new Error(`no key named ${name}`);
  return found.id;
};

describe('API keys never exceed the key that creates or revokes them', () => {
  it('a key with only create:api_keys cannot mint a key with scopes it does not hold', async () => {
    const narrow = await t.keyWith('create:api_keys');
    const before = await t.container.db('api_keys').count<{ n: number | string }[]>({ n: '*' });

    const escalate = await t.api('POST', '/api/v1/api-keys', { key: narrow, body: { name: 'pwned', scopes: [...ALL_SCOPES] } });
    expect(escalate.status).toBe(403);
    expect(escalate.body).toMatchObject({ statusCode: 403, error: 'Forbidden', errorCode: 'insufficient_scope' });
    // The message names every missing scope, and not the one the key holds.
    for (const s of ALL_SCOPES.filter((x) => x !== 'create:api_keys')) expect(escalate.body.message).toContain(s);
    expect(escalate.body.message).not.toMatch(/create:api_keys[,.]/);
    expect(await t.container.db('api_keys').count<{ n: number | string }[]>({ n: '*' })).toEqual(before);
    expect((await t.api('GET', '/api/v1/audit-logs?action=api_key.created')).body.audit_logs.filter((e: { detail: { name: string } }) => e.detail.name === 'pwned')).toHaveLength(0);

    // One extra scope is enough to be refused, and only that one is named.
    const mixed = await t.keyWith('create:api_keys', 'read:organizations');
    const one = await t.api('POST', '/api/v1/api-keys', { key: mixed, body: { name: 'more', scopes: ['read:organizations', 'delete:organizations'] } });
    expect(one.status).toBe(403);
    expect(one.body.errorCode).toBe('insufficient_scope');
    expect(one.body.message).toContain('delete:organizations');
    expect(one.body.message).not.toContain('read:organizations');

    // Within its own scopes it still works, and the new key has exactly those scopes.
    const ok = await t.api('POST', '/api/v1/api-keys', { key: mixed, body: { name: 'reader', scopes: ['read:organizations'] } });
    expect(ok.status).toBe(201);
    expect(ok.body.scopes).toEqual(['read:organizations']);
    expect((await t.api('GET', '/api/v1/organizations', { key: ok.body.key })).status).toBe(200);
    expect((await t.api('POST', '/api/v1/organizations', { key: ok.body.key, body: { name: 'x', display_name: 'X' } })).status).toBe(403);
  });

  it('a key with only delete:api_keys cannot revoke a key with more scopes, but may revoke narrower keys and itself', async () => {
    const narrow = await t.keyWith('delete:api_keys');
    const narrowId = (await t.container.apiKeys.authenticate(narrow))!.id;
    const adminId = await keyIdByName('test-admin');

    const revokeAdmin = await t.api('DELETE', `/api/v1/api-keys/${adminId}`, { key: narrow });
    expect(revokeAdmin.status).toBe(403);
    expect(revokeAdmin.body).toMatchObject({ statusCode: 403, error: 'Forbidden', errorCode: 'insufficient_scope' });
    expect(revokeAdmin.body.message).toContain('create:api_keys');
    expect(revokeAdmin.body.message).toContain('delete:organizations');
    // The admin key still works, and nothing was audited as revoked.
    expect((await t.api('GET', '/api/v1/organizations')).status).toBe(200);
    expect((await t.api('GET', '/api/v1/audit-logs?action=api_key.revoked')).body.audit_logs).toHaveLength(0);

    // A key with one scope it lacks is refused too.
    const other = await t.api('POST', '/api/v1/api-keys', { body: { name: 'reader', scopes: ['delete:api_keys', 'read:audit_logs'] } });
    const refused = await t.api('DELETE', `/api/v1/api-keys/${other.body.id}`, { key: narrow });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain('read:audit_logs');
    expect(refused.body.message).not.toContain('delete:api_keys');

    const same = await t.api('POST', '/api/v1/api-keys', { body: { name: 'peer', scopes: ['delete:api_keys'] } });
    expect((await t.api('DELETE', `/api/v1/api-keys/${same.body.id}`, { key: narrow })).status).toBe(204);
    expect((await t.api('GET', '/api/v1/api-keys', { key: same.body.key })).status).toBe(401);

    expect((await t.api('DELETE', `/api/v1/api-keys/${narrowId}`, { key: narrow })).status).toBe(204);
    expect((await t.api('GET', '/api/v1/api-keys', { key: narrow })).status).toBe(401);

    // The all-scope key still creates and revokes any key.
    const made = await t.api('POST', '/api/v1/api-keys', { body: { name: 'full', scopes: [...ALL_SCOPES] } });
    expect(made.status).toBe(201);
    expect((await t.api('DELETE', `/api/v1/api-keys/${made.body.id}`)).status).toBe(204);
  });
});
