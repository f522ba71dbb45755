import { createVerify, X509Certificate } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { SamlTestIdp } from '../helpers/saml-idp.js';
import { postSamlResponse, samlLogin, startSamlLogin } from '../helpers/sso-setup.js';
import { Browser } from '../helpers/sso-browser.js';
import type { ManualClock } from '../../src/platform/clock.js';

/**
 * The connection's own SAML keys against samlify as an independent IdP that refuses unsigned
 * AuthnRequests (WantAuthnRequestsSigned) and encrypts its assertions to the certificate in our SP
 * metadata: sign-in, rotation with overlap, retirement, and what another tenant's key cannot do.
 */
let t: TestApp;
const idps: SamlTestIdp[] = [];

const certsOf = (metadata: string, use: 'signing' | 'encryption'): string[] =>
  [...metadata.matchAll(new RegExp(`<KeyDescriptor use="${use}">[\\s\\S]*?<ds:X509Certificate>([^<]+)</ds:X509Certificate>`, 'g'))].map((m) => m[1]!);

async function samlSetup(name: string, domain: string, body: Record<string, unknown> = {}) {
  const idp = new SamlTestIdp();
  idp.wantAuthnRequestsSigned = true;
  idp.encryptAssertions = true;
  idp.user = { nameId: `alice@${domain}`, email: `alice@${domain}`, groups: [] };
  await idp.start();
  idps.push(idp);
  const res = await t.api('POST', '/api/v1/connections', { body: { name, type: 'saml', domains: [domain], idp: { metadata_xml: idp.metadataXml() }, ...body } });
  expect(res.status, res.text).toBe(201);
  const metadata = await (await fetch(`${t.url}/sso/saml/${res.body.id}/metadata`)).text();
  idp.spMetadata = metadata;
  return { idp, id: res.body.id as string, acsUrl: res.body.sp.acs_url as string, metadata, view: res.body };
}

const metadataOf = async (id: string) => (await fetch(`${t.url}/sso/saml/${id}/metadata`)).text();
const encrypted = (samlResponse: string) => Buffer.from(samlResponse, 'base64').toString('utf8');

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  for (const idp of idps) await idp.stop();
  await t.close();
});

describe('signed AuthnRequests and encrypted assertions', () => {
  it('follows the IdP metadata: requests are signed (HTTP-Redirect SigAlg + Signature), assertions arrive encrypted, Alice signs in', async () => {
    const a = await samlSetup('acme-signed', 'acme-signed.com');
    expect(a.view.sign_authn_requests).toBeNull();
    expect(a.view.require_encrypted_assertions).toBe(false);
    expect(a.metadata).toContain('AuthnRequestsSigned="true"');
    expect(certsOf(a.metadata, 'signing')).toHaveLength(1);
    expect(certsOf(a.metadata, 'encryption')).toHaveLength(1);
    expect(a.metadata).toContain('<EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>');

    // The signature is over the octet string SAMLRequest=…&SigAlg=… with the published signing certificate.
    const browser = new Browser();
    const start = await browser.request('GET', `${t.url}/sso/saml/${a.id}/login`);
    const location = start.headers.get('location')!;
    const query = location.slice(location.indexOf('?') + 1);
    const params = new URLSearchParams(query);
    expect(params.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    const octets = query.split('&').filter((p) => p.startsWith('SAMLRequest=') || p.startsWith('SigAlg=')).join('&');
    const cert = new X509Certificate(Buffer.from(certsOf(a.metadata, 'signing')[0]!, 'base64'));
    expect(createVerify('RSA-SHA256').update(octets).verify(cert.publicKey, Buffer.from(params.get('Signature')!, 'base64'))).toBe(true);

    const { me } = await samlLogin(t, a, a.idp.user);
    expect(me?.user.email).toBe('alice@acme-signed.com');
    expect(encrypted(a.idp.lastResponse)).toContain('EncryptedAssertion');
    expect(encrypted(a.idp.lastResponse)).not.toContain('alice@acme-signed.com');
  });

  it('accepts a signed-then-encrypted assertion in an unsigned response (the signature is checked after decryption)', async () => {
    const a = await samlSetup('acme-sign-enc', 'acme-sign-enc.com');
    // An IdP that signs the assertion (the SP asked: WantAssertionsSigned), encrypts it and leaves the response unsigned.
    a.idp.spMetadata = a.metadata.replace('<SPSSODescriptor ', '<SPSSODescriptor WantAssertionsSigned="true" ');
    const { me } = await samlLogin(t, a, a.idp.user);
    expect(me?.user.email).toBe('alice@acme-sign-enc.com');
    const xml = encrypted(a.idp.lastResponse);
    expect(xml).toContain('EncryptedAssertion');
    expect(xml).not.toMatch(/<(ds:)?Signature/);
  });

  it('sends unsigned requests when the connection turns signing off, and the IdP that wants them signed refuses', async () => {
    const a = await samlSetup('acme-unsigned', 'acme-unsigned.com', { sign_authn_requests: false });
    expect(a.view.sign_authn_requests).toBe(false);
    expect(a.metadata).toContain('AuthnRequestsSigned="false"');
    const start = await new Browser().request('GET', `${t.url}/sso/saml/${a.id}/login`);
    expect(new URL(start.headers.get('location')!).searchParams.has('Signature')).toBe(false);
    const { page, meStatus } = await samlLogin(t, a, a.idp.user);
    expect(page.status).toBe(400);
    expect(page.text).toContain('ERR_MISSING_SIG_ALG');
    expect(meStatus).toBe(401);
    // Turned on again by PATCH: signed, and the sign-in works.
    const patched = await t.api('PATCH', `/api/v1/connections/${a.id}`, { body: { sign_authn_requests: true } });
    expect(patched.body.sign_authn_requests).toBe(true);
    a.idp.spMetadata = await metadataOf(a.id);
    expect((await samlLogin(t, a, a.idp.user)).me?.user.email).toBe('alice@acme-unsigned.com');
  });

  it('a tampered signed request (another ACS URL, same signature) is refused by the IdP', async () => {
    const a = await samlSetup('acme-tamper', 'acme-tamper.com');
    const start = await new Browser().request('GET', `${t.url}/sso/saml/${a.id}/login`);
    const url = new URL(start.headers.get('location')!);
    const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    const forged = xml.replace(/AssertionConsumerServiceURL="[^"]+"/, 'AssertionConsumerServiceURL="https://attacker.example/acs"');
    expect(forged).not.toBe(xml);
    url.searchParams.set('SAMLRequest', deflateRawSync(Buffer.from(forged)).toString('base64'));
    const res = await fetch(url);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('ERR_FAILED_MESSAGE_SIGNATURE_VERIFICATION');
  });

  it('requires encryption when the connection says so: a plain assertion gets encryption_required, nobody signed in', async () => {
    const a = await samlSetup('acme-require', 'acme-require.com', { require_encrypted_assertions: true });
    a.idp.encryptAssertions = false;
    const { page, meStatus } = await samlLogin(t, a, a.idp.user);
    expect(page.status).toBe(400);
    expect(page.text).toContain('accepts only encrypted assertions');
    expect(page.text).toContain('encryption_required');
    expect(meStatus).toBe(401);
    expect(await t.container.db('identities').where({ connection_id: a.id }).pluck('subject')).toEqual([]);
    a.idp.encryptAssertions = true;
    expect((await samlLogin(t, a, a.idp.user)).me?.user.email).toBe('alice@acme-require.com');
  });
});

describe('rotation with overlap', () => {
  it('keeps decrypting with the previous encryption key until it is retired, and lists both meanwhile', async () => {
    const a = await samlSetup('acme-rotate', 'acme-rotate.com');
    const [oldEnc] = certsOf(a.metadata, 'encryption');
    const rotated = await t.api('POST', `/api/v1/connections/${a.id}/sp-keys/rotate`, { body: { use: 'encryption' } });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body.sp_keys.map((k: { use: string; status: string }) => `${k.use}:${k.status}`).sort()).toEqual(['encryption:current', 'encryption:previous', 'signing:current']);
    const during = await metadataOf(a.id);
    const encCerts = certsOf(during, 'encryption');
    expect(encCerts).toHaveLength(2);
    expect(encCerts[1]).toBe(oldEnc);
    expect(encCerts[0]).not.toBe(oldEnc);
    // A second rotation before the first is retired is refused, and changes nothing.
    const again = await t.api('POST', `/api/v1/connections/${a.id}/sp-keys/rotate`, { body: { use: 'encryption' } });
    expect(again.status).toBe(409);
    expect(again.body.errorCode).toBe('sp_key_rotation_in_progress');
    expect(certsOf(await metadataOf(a.id), 'encryption')).toEqual(encCerts);

    // The IdP still holds the old metadata and encrypts to the old certificate: still accepted.
    expect((await samlLogin(t, a, a.idp.user)).me?.user.email).toBe('alice@acme-rotate.com');
    expect(encrypted(a.idp.lastResponse)).toContain('EncryptedAssertion');

    const retired = await t.api('POST', `/api/v1/connections/${a.id}/sp-keys/retire`, { body: { use: 'encryption' } });
    expect(retired.status, retired.text).toBe(200);
    expect(certsOf(await metadataOf(a.id), 'encryption')).toEqual([encCerts[0]]);
    const refused = await samlLogin(t, a, a.idp.user);
    expect(refused.page.status).toBe(400);
    expect(refused.page.text).toContain('encrypted to a key this connection does not have');
    expect(refused.meStatus).toBe(401);

    // The IdP admin imports the new metadata: signed in again.
    a.idp.spMetadata = await metadataOf(a.id);
    expect((await samlLogin(t, a, a.idp.user)).me?.user.email).toBe('alice@acme-rotate.com');

    const actions = await t.container.db('audit_events').whereIn('action', ['connection.sp_key_rotated', 'connection.sp_key_retired']).orderBy('seq').pluck('action');
    expect(actions).toEqual(['connection.sp_key_rotated', 'connection.sp_key_retired']);
  });

  it('publishes a rotated signing key at once and signs with it only once the overlap ends; a set overlap ends on its own', async () => {
    const a = await samlSetup('acme-rotate-sig', 'acme-rotate-sig.com');
    const [oldSig] = certsOf(a.metadata, 'signing');
    const [oldEnc] = certsOf(a.metadata, 'encryption');
    const rotated = await t.api('POST', `/api/v1/connections/${a.id}/sp-keys/rotate`, { body: { overlap_seconds: 3600 } });
    expect(rotated.status, rotated.text).toBe(200);
    const previous = rotated.body.sp_keys.filter((k: { status: string }) => k.status === 'previous');
    expect(previous).toHaveLength(2);
    expect(previous.every((k: { retire_after: string }) => k.retire_after === new Date(t.clock.now().getTime() + 3600_000).toISOString())).toBe(true);
    // The previous signing key still signs; the new encryption key is the one IdPs are asked to use.
    expect(rotated.body.sp_keys.filter((k: { active: boolean }) => k.active).map((k: { use: string; status: string }) => `${k.use}:${k.status}`).sort()).toEqual(['encryption:current', 'signing:previous']);
    const during = await metadataOf(a.id);
    const sigCerts = certsOf(during, 'signing');
    expect(sigCerts).toHaveLength(2);
    expect(sigCerts).toContain(oldSig);
    const newSig = sigCerts.find((c) => c !== oldSig)!;

    // An IdP that has not read the new metadata yet keeps working during the overlap.
    expect((await samlLogin(t, a, a.idp.user)).me?.user.email).toBe('alice@acme-rotate-sig.com');

    // An hour later the previous keys are gone without anyone retiring them; the new key signs.
    (t.clock as ManualClock).advance(3600_000 + 1000);
    try {
      const after = await metadataOf(a.id);
      expect(certsOf(after, 'signing')).toEqual([newSig]);
      expect(certsOf(after, 'encryption')).not.toContain(oldEnc);
      // Deleted at the first use after the overlap, and the audit log says why.
      expect(await t.container.db('sp_keys').where({ connection_id: a.id, status: 'previous' }).pluck('id')).toEqual([]);
      const retired = await t.api('GET', '/api/v1/audit-logs?action=connection.sp_key_retired&take=1000');
      expect(retired.body.audit_logs.filter((e: { detail: { connection_id: string } }) => e.detail.connection_id === a.id).map((e: { actor: { type: string }; detail: { reason: string } }) => `${e.actor.type}:${e.detail.reason}`)).toEqual(['system:overlap_ended', 'system:overlap_ended']);
      const stale = await samlLogin(t, a, a.idp.user);
      expect(stale.page.text).toContain('ERR_FAILED_MESSAGE_SIGNATURE_VERIFICATION');
      expect(stale.meStatus).toBe(401);
      a.idp.spMetadata = after;
      expect((await samlLogin(t, a, a.idp.user)).me?.user.email).toBe('alice@acme-rotate-sig.com');
    } finally {
      (t.clock as ManualClock).advance(-(3600_000 + 1000));
    }
  });
});

describe('what another tenant can do to connection A', () => {
  it("refuses at A's ACS an assertion encrypted to B's key, and a response whose signature was stripped from around an encrypted assertion", async () => {
    const a = await samlSetup('tenant-a', 'tenant-a.com');
    const b = await samlSetup('tenant-b', 'tenant-b.com');
    const bEnc = certsOf(b.metadata, 'encryption')[0]!;
    // A's IdP (or anyone holding a validly signed response) encrypting to B's certificate.
    a.idp.spMetadata = a.metadata.replace(certsOf(a.metadata, 'encryption')[0]!, bEnc);
    const refused = await samlLogin(t, a, a.idp.user);
    expect(refused.page.status).toBe(400);
    expect(refused.page.text).toContain('encrypted to a key this connection does not have');
    expect(refused.meStatus).toBe(401);

    // Genuine encrypted response for A, its response signature removed: the assertion inside is unsigned.
    a.idp.spMetadata = a.metadata;
    const { browser } = await startSamlLogin(t, a.id);
    const genuine = await samlLogin(t, a, a.idp.user);
    expect(genuine.me?.user.email).toBe('alice@tenant-a.com');
    const stripped = encrypted(a.idp.lastResponse).replace(/<(ds:)?Signature[\s\S]*?<\/(ds:)?Signature>/, '');
    expect(stripped).toContain('EncryptedAssertion');
    const { final } = await postSamlResponse(browser, a.acsUrl, Buffer.from(stripped).toString('base64'));
    expect(final.status).toBe(400);
    expect(final.text).toContain('invalid_response');
  });

  it("B's keys, a narrow API key and B's metadata never reach A's keys or any private key", async () => {
    const a = await samlSetup('tenant-c', 'tenant-c.com');
    const b = await samlSetup('tenant-d', 'tenant-d.com');
    const narrow = await t.keyWith('read:organizations', 'read:directories');
    expect((await t.api('GET', `/api/v1/connections/${a.id}/sp-keys`, { key: narrow })).status).toBe(403);
    const reader = await t.keyWith('read:connections');
    const list = await t.api('GET', `/api/v1/connections/${a.id}/sp-keys`, { key: reader });
    expect(list.status).toBe(200);
    expect(list.body.sp_keys).toHaveLength(2);
    const rotate = await t.api('POST', `/api/v1/connections/${a.id}/sp-keys/rotate`, { key: reader, body: {} });
    expect(rotate.status).toBe(403);
    const retire = await t.api('POST', `/api/v1/connections/${a.id}/sp-keys/retire`, { key: reader, body: {} });
    expect(retire.status).toBe(403);
    // Nothing anywhere carries a private key: API answers, metadata, the stored row.
    const answers = [list.text, (await t.api('GET', `/api/v1/connections/${a.id}`)).text, (await t.api('GET', '/api/v1/connections')).text, (await t.api('GET', '/api/v1/audit-logs?take=1000')).text, await metadataOf(a.id)];
    for (const text of answers) expect(text).not.toMatch(/PRIVATE KEY|private_key|"d":/);
    const rows = await t.container.db('sp_keys').where({ connection_id: a.id });
    for (const r of rows) expect(r.private_key_sealed).toMatch(/^v1\./);
    // B's metadata shares no certificate with A's.
    const bCerts = [...certsOf(b.metadata, 'signing'), ...certsOf(b.metadata, 'encryption')];
    for (const cert of [...certsOf(a.metadata, 'signing'), ...certsOf(a.metadata, 'encryption')]) expect(bCerts).not.toContain(cert);
    // A key id of B's connection is unknown under A's.
    const bKey = (await t.api('GET', `/api/v1/connections/${b.id}/sp-keys`)).body.sp_keys[0].id;
    const cross = await t.api('POST', `/api/v1/connections/${a.id}/sp-keys/retire`, { body: { key_id: bKey } });
    expect(cross.status).toBe(404);
    expect((await t.api('GET', `/api/v1/connections/${b.id}/sp-keys`)).body.sp_keys).toHaveLength(2);
  });
});
