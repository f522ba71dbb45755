import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import type { AdminClient } from '../helpers/admin-client.js';
import { startAdminSession, type AdminSeed } from '../helpers/admin-seed.js';

describe("admin page and audit log: a connection's own keys", () => {
  let t: TestApp;
  let seed: AdminSeed;
  let a: AdminClient;
  beforeEach(async () => {
    ({ t, seed, a } = await startAdminSession());
  });
  afterEach(async () => {
    await t.close();
  });

  it('shows each key with its status and fingerprint, the previous one after a rotation, and says so in the audit log', async () => {
    const keys = (await t.api('GET', `/api/v1/connections/${seed.connectionId}/sp-keys`)).body.sp_keys as Array<{ use: string; fingerprint_sha256: string }>;
    const before = await a.get('/admin/connections');
    expect(before.text).toContain('Signing key (current)');
    expect(before.text).toContain('Encryption key (current)');
    for (const k of keys) expect(before.text).toContain(k.fingerprint_sha256);
    expect(before.text).toContain('signed if the IdP metadata asks');
    expect(before.text).not.toMatch(/PRIVATE KEY/);

    expect((await t.api('POST', `/api/v1/connections/${seed.connectionId}/sp-keys/rotate`, { body: { use: 'encryption' } })).status).toBe(200);
    const after = await a.get('/admin/connections');
    expect(after.text).toContain('Encryption key (previous)');
    expect(after.text).toContain('counts until retired');

    const audit = await a.get('/admin/audit');
    expect(audit.text).toContain('rotated the encryption key of <strong>acme-okta</strong>');
  });

  it('gives a connection made before SP keys existed its keys at first use, audited as the system', async () => {
    await t.container.db('sp_keys').where({ connection_id: seed.connectionId }).delete();
    const metadata = await (await fetch(`${t.url}/sso/saml/${seed.connectionId}/metadata`)).text();
    expect(metadata).toContain('<KeyDescriptor use="signing">');
    expect(metadata).toContain('<KeyDescriptor use="encryption">');
    expect(await t.container.db('sp_keys').where({ connection_id: seed.connectionId, status: 'current' }).pluck('use')).toHaveLength(2);
    const created = await t.api('GET', '/api/v1/audit-logs?action=connection.sp_key_created');
    expect(created.body.audit_logs.map((e: { actor: { type: string }; detail: { use: string } }) => `${e.actor.type}:${e.detail.use}`).sort()).toEqual(['system:encryption', 'system:signing']);
    // Asked again (metadata, the API): the same keys, nothing more created.
    await fetch(`${t.url}/sso/saml/${seed.connectionId}/metadata`);
    expect((await t.api('GET', `/api/v1/connections/${seed.connectionId}/sp-keys`)).body.sp_keys).toHaveLength(2);
    expect((await t.api('GET', '/api/v1/audit-logs?action=connection.sp_key_created')).body.audit_logs).toHaveLength(2);
  });
});
