import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import type { AdminClient } from '../helpers/admin-client.js';
import { seedAdminData, startAdminSession, type AdminSeed } from '../helpers/admin-seed.js';
import type { KeyPairSource } from '../../src/modules/connections/sp-keys.js';

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

describe('anonymous fetches of the SP metadata and JWKS', () => {
  it('complete the keys of an older connection once, however many arrive at once', async () => {
    const t = await startTestApp();
    try {
      const seed = await seedAdminData(t);
      // Counts the RSA key pairs asked for: a SAML connection's two keys, once. Pairs made beforehand
      // come at once, as test apps' do (test/helpers/key-pairs.ts).
      type KeyState = { missing: unknown[]; expired: boolean };
      const svc = t.container.spKeys as unknown as { keyPairs: KeyPairSource; keyState: (...args: unknown[]) => Promise<KeyState> };
      const made = await Promise.all([svc.keyPairs(2048), svc.keyPairs(2048)]);
      let generated = 0;
      svc.keyPairs = async () => made[generated++ % made.length]!;
      const metadata = () => fetch(`${t.url}/sso/saml/${seed.connectionId}/metadata`);
      await t.container.db('sp_keys').where({ connection_id: seed.connectionId }).delete();
      const first = await Promise.all(Array.from({ length: 20 }, metadata));
      expect(first.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(generated).toBe(2);
      expect(await t.container.db('sp_keys').where({ connection_id: seed.connectionId })).toHaveLength(2);
      expect(await t.container.db('audit_events').where({ action: 'connection.sp_key_created' })).toHaveLength(2);
      // Later fetches find the keys: nothing more is made.
      await Promise.all(Array.from({ length: 10 }, metadata));
      expect(generated).toBe(2);

      // A request that read the keys as missing just before another completion committed them, and
      // asks for its own completion once that one has ended (seen under load): it reads them again.
      const owner = { id: seed.connectionId, name: 'stale-read', type: 'saml' as const };
      await t.container.db('sp_keys').where({ connection_id: seed.connectionId }).delete();
      const read = svc.keyState.bind(svc);
      const stale = await read(owner, new Date().toISOString());
      expect(stale.missing).toHaveLength(2);
      await t.container.spKeys.keysFor(owner);
      expect(generated).toBe(4);
      svc.keyState = async () => ((svc.keyState = read), stale);
      const keys = await t.container.spKeys.keysFor(owner);
      expect(generated).toBe(4);
      expect([keys.signing.length, keys.encryption.length]).toEqual([1, 1]);
    } finally {
      await t.close();
    }
  });
});
