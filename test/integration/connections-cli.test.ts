import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/process.js';
import { runCliHere as runCli } from '../helpers/cli.js';
import { processDatabases } from '../helpers/db.js';
import { OidcTestOp } from '../helpers/oidc-op.js';
import { serveDocument } from '../helpers/setup-link.js';

const cert = readFileSync(new URL('../../fixtures/saml/keys/idp-test-only.crt', import.meta.url), 'utf8');
const databases = processDatabases();
const databaseUrl = () => databases.url();
afterAll(() => databases.cleanup());

describe('orgsync connection create', () => {
  it('creates a connection from a JSON file, prints the SP settings, and fails with one line on errors', async () => {
    const env = { DATABASE_URL: await databaseUrl(), ORGSYNC_SECRET: 'cli-test-secret-0123456789', PUBLIC_URL: 'https://sso.example.com' };
    expect((await runCli(['org', 'create', 'acme'], env)).code).toBe(0);
    const dir = tempDir();
    const file = join(dir, 'conn.json');
    writeFileSync(file, JSON.stringify({
      name: 'acme-okta',
      type: 'saml',
      domains: ['acme.com'],
      idp: { entity_id: 'urn:idp', sso_url: 'https://idp.example/sso', certificates: [cert] },
      membership_rules: [{ organization: 'acme', role: 'member' }],
    }));
    const created = await runCli(['connection', 'create', '--file', file, '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const body = JSON.parse(created.stdout);
    expect(body.sp.acs_url).toBe(`https://sso.example.com/sso/saml/${body.id}/acs`);
    expect(body.membership_rules[0].organization).toBe('acme');

    const table = await runCli(['connection', 'create', '--file', file], env);
    expect(table.code).toBe(1);
    expect(table.stderr.trim().split('\n')).toHaveLength(1);
    expect(table.stderr).toMatch(/already/);

    writeFileSync(file, JSON.stringify({ name: 'x', type: 'saml', domains: [], idp: { entity_id: 'urn:x', sso_url: 'https://idp.example/sso', certificates: [cert] } }));
    const invalid = await runCli(['connection', 'create', '--file', file], env);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/domains/);
    const missing = await runCli(['connection', 'create', '--file', join(dir, 'nope.json')], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read/);
  });
});

describe('orgsync connection test', () => {
  it("prints each check of an OIDC connection's provider and fails with one line when it cannot be reached", async () => {
    const env = { DATABASE_URL: await databaseUrl(), ORGSYNC_SECRET: 'cli-test-secret-0123456789', PUBLIC_URL: 'https://sso.example.com' };
    const op = new OidcTestOp();
    await op.start();
    op.configure({ client_id: 'orgsync-cli', client_secret: 'cli-client-secret-0123456789', redirect_uris: ['https://sso.example.com/cb'] });
    const file = join(tempDir(), 'conn.json');
    writeFileSync(file, JSON.stringify({ name: 'globex-oidc', type: 'oidc', domains: ['globex.com'], idp: { issuer: op.issuer, client_id: 'orgsync-cli', client_secret: 'cli-client-secret-0123456789' } }));
    expect((await runCli(['connection', 'create', '--file', file], env)).code).toBe(0);
    const ok = await runCli(['connection', 'test', 'globex-oidc'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ok\s+issuer: The OP publishes the issuer/m);
    expect(ok.stdout).toMatch(/^ok\s+token_endpoint_auth: orgsync will authenticate with client_secret_basic/m);
    expect(ok.stdout).not.toContain('cli-client-secret');
    await op.stop();
    const down = await runCli(['connection', 'test', 'globex-oidc'], env);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^FAIL\s+discovery: Could not read/m);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toMatch(/could not be reached/);
  });
});

describe('orgsync connection refresh-metadata', () => {
  it("fetches a SAML connection's metadata URL now, prints the certificates added, and fails with one line when it cannot", async () => {
    const env = { DATABASE_URL: await databaseUrl(), ORGSYNC_SECRET: 'cli-test-secret-0123456789', PUBLIC_URL: 'https://sso.example.com', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' };
    const other = readFileSync(new URL('../../fixtures/saml/keys/other-test-only.crt', import.meta.url), 'utf8');
    const bare = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
    const md = (certs: string[]) =>
      `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="urn:idp:cli"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${certs.map((c) => `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${bare(c)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`).join('')}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
    let body = md([cert]);
    const served = await serveDocument(() => body);
    try {
      const file = join(tempDir(), 'conn.json');
      writeFileSync(file, JSON.stringify({ name: 'initech-saml', type: 'saml', domains: ['initech.com'], idp: { metadata_url: served.url } }));
      expect((await runCli(['connection', 'create', '--file', file], env)).code).toBe(0);
      body = md([cert, other]);
      const ok = await runCli(['connection', 'refresh-metadata', 'initech-saml'], env);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/^initech-saml: metadata refreshed\n {2}certificate added: {3}([0-9A-F]{2}:){31}[0-9A-F]{2}\n$/);
      body = 'not metadata';
      const failed = await runCli(['connection', 'refresh-metadata', 'initech-saml'], env);
      expect(failed.code).toBe(1);
      expect(failed.stderr.trim().split('\n')).toHaveLength(1);
      expect(failed.stderr).toMatch(/not well-formed XML.*the last good metadata stays in use/);
    } finally {
      await served.close();
    }
  });
});

describe('orgsync connection keys, rotate-keys, retire-keys', () => {
  it("lists a connection's own keys without private keys, rotates with an overlap and retires, and fails with one line", async () => {
    const env = { DATABASE_URL: await databaseUrl(), ORGSYNC_SECRET: 'cli-test-secret-0123456789', PUBLIC_URL: 'https://sso.example.com' };
    const dir = tempDir();
    const file = join(dir, 'conn.json');
    writeFileSync(file, JSON.stringify({ name: 'keys-saml', type: 'saml', domains: ['keys.example'], idp: { entity_id: 'urn:idp:keys', sso_url: 'https://idp.example/sso', certificates: [cert] } }));
    expect((await runCli(['connection', 'create', '--file', file], env)).code).toBe(0);

    const listed = await runCli(['connection', 'keys', 'keys-saml', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    const keys = JSON.parse(listed.stdout) as Array<{ use: string; status: string; fingerprint_sha256: string }>;
    expect(keys.map((k) => `${k.use}:${k.status}`).sort()).toEqual(['encryption:current', 'signing:current']);
    expect(listed.stdout).not.toMatch(/PRIVATE KEY/);

    const rotated = await runCli(['connection', 'rotate-keys', 'keys-saml', '--use', 'encryption', '--overlap-seconds', '86400'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/^encryption +previous .*counts until /m);
    const again = await runCli(['connection', 'rotate-keys', 'keys-saml', '--use', 'encryption'], env);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/Retire it first/);

    const retired = await runCli(['connection', 'retire-keys', 'keys-saml'], env);
    expect(retired.code, retired.stderr).toBe(0);
    expect(retired.stdout).not.toMatch(/previous/);
    const nothing = await runCli(['connection', 'retire-keys', 'keys-saml'], env);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/no previous/);
    expect((await runCli(['connection', 'rotate-keys', 'keys-saml', '--use', 'decryption'], env)).stderr).toMatch(/--use must be/);
  });
});
