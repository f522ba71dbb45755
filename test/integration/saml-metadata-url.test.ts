import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { keys, SamlTestIdp, sign } from '../helpers/saml-idp.js';
import { Browser } from '../helpers/sso-browser.js';
import { postSamlResponse, samlLogin, startSamlLogin } from '../helpers/sso-setup.js';
import { readFileSync } from 'node:fs';
import type { ManualClock } from '../../src/platform/clock.js';
import { MetadataRefreshScheduler } from '../../src/modules/connections/metadata-scheduler.js';
import { tryAcquireLease } from '../../src/modules/events/job-lease.js';
import { createLogger } from '../../src/platform/logger.js';
import { AdminClient } from '../helpers/admin-client.js';
import { SetupLinkVisitor } from '../helpers/setup-link.js';

/**
 * IdP metadata by URL: fetched and checked at save, refreshed on a schedule and on demand. A
 * signing certificate published next to the old one is accepted at once (rollover); one the IdP
 * dropped is refused after the refresh; a refresh that fails for any reason keeps the last good
 * metadata and shows why.
 */
const bare = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
const cert1 = bare(keys['idp-test-only'].cert);
const cert2 = bare(keys['other-test-only'].cert);
const fp = (b: string) => new X509Certificate(Buffer.from(b, 'base64')).fingerprint256;
const template = readFileSync(new URL('../../fixtures/saml/responses/response.template.xml', import.meta.url), 'utf8');

function metadata(o: { entityId: string; ssoUrl: string; certs: string[]; validUntil?: string; encryptionCert?: string; wantSigned?: boolean }): string {
  const kd = (c: string, use: string) => `<md:KeyDescriptor use="${use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  return `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${o.entityId}"${o.validUntil ? ` validUntil="${o.validUntil}"` : ''}><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"${o.wantSigned ? ' WantAuthnRequestsSigned="true"' : ''}>${o.certs.map((c) => kd(c, 'signing')).join('')}${o.encryptionCert ? kd(o.encryptionCert, 'encryption') : ''}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${o.ssoUrl}"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
}

/** The IdP's metadata endpoint: what it answers can be changed between requests. */
class MetadataServer {
  status = 200;
  body = '';
  requests = 0;
  private server?: Server;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      this.requests++;
      res.writeHead(this.status, { 'content-type': 'application/samlmetadata+xml' }).end(this.body);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/idp/metadata`;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

describe('SAML IdP metadata by URL', () => {
  let t: TestApp;
  let idp: SamlTestIdp;
  let served: MetadataServer;
  const publish = (certs: string[], extra: Partial<Parameters<typeof metadata>[0]> = {}) => {
    served.status = 200;
    served.body = metadata({ entityId: idp.entityId, ssoUrl: idp.ssoUrl, certs, ...extra });
  };

  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
    idp = new SamlTestIdp();
    await idp.start();
    served = new MetadataServer();
    await served.start();
  });
  afterAll(async () => {
    await served?.stop();
    await idp?.stop();
    await t?.close();
  });
  beforeEach(() => publish([cert1]));

  let n = 0;
  async function create(extra: Record<string, unknown> = {}) {
    n++;
    const res = await t.api('POST', '/api/v1/connections', {
      body: { name: `acme-url-${n}`, type: 'saml', domains: [`acme${n}.com`], idp: { metadata_url: served.url }, ...extra },
    });
    if (res.status === 201) idp.spMetadata = await (await fetch(`${t.url}/sso/saml/${res.body.id}/metadata`)).text();
    return res;
  }

  /** A sign-in answered by our IdP, its response signed with `key` (the IdP rolled its key over, or not). */
  async function signInSignedWith(conn: { id: string; sp: { acs_url: string; entity_id: string } }, key: keyof typeof keys, email: string) {
    const { browser, requestId } = await startSamlLogin(t, conn.id, new Browser());
    const xml = idp.fill(template, { acsUrl: conn.sp.acs_url, spEntityId: conn.sp.entity_id, requestId, user: { nameId: email, email, groups: [] } }).xml;
    const { final } = await postSamlResponse(browser, conn.sp.acs_url, Buffer.from(sign(xml, 'response', key)).toString('base64'), { json: true });
    return final;
  }

  it('fetches the metadata when the connection is saved and shows where its refresh stands', async () => {
    const before = served.requests;
    const res = await create();
    expect(res.status, res.text).toBe(201);
    expect(served.requests).toBe(before + 1);
    expect(res.body.idp).toEqual({ entity_id: idp.entityId, sso_url: idp.ssoUrl, certificates: [cert1], metadata_url: served.url });
    const now = t.clock.now().getTime();
    expect(res.body.metadata_refresh).toMatchObject({ url: served.url, last_error: null, failures: 0, last_success_at: new Date(now).toISOString() });
    const next = Date.parse(res.body.metadata_refresh.next_refresh_at) - now;
    expect(next).toBeGreaterThanOrEqual(0.9 * 12 * 3600_000);
    expect(next).toBeLessThanOrEqual(1.1 * 12 * 3600_000);
    const audit = (await t.api('GET', '/api/v1/audit-logs?action=connection.created')).body.audit_logs.at(-1);
    expect(audit.detail).toMatchObject({ metadata_url: served.url, certificates: [fp(cert1)] });
    // Sign-in works with what was fetched.
    const { me } = await samlLogin(t, { idp, id: res.body.id }, { nameId: `alice@acme${n}.com`, email: `alice@acme${n}.com` });
    expect(me.user.email).toBe(`alice@acme${n}.com`);
    // A connection from pasted metadata has no refresh.
    const pasted = await t.api('POST', '/api/v1/connections', { body: { name: 'pasted', type: 'saml', domains: ['pasted.com'], idp: { metadata_xml: served.body } } });
    expect(pasted.body.metadata_refresh).toBeNull();
  });

  it('refuses to save metadata it cannot use, with a 400 that says why, and creates nothing', async () => {
    const count = async () => (await t.container.db('connections').count<{ n: number }[]>('* as n'))[0]!.n;
    const before = await count();
    const cases: Array<[string, () => void, string, RegExp]> = [
      ['server error', () => ((served.status = 500), (served.body = 'oops')), 'metadata_fetch_failed', /HTTP 500/],
      ['not XML', () => ((served.status = 200), (served.body = 'this is not <xml')), 'invalid_metadata', /not well-formed XML/],
      ['no signing certificate', () => publish([], { encryptionCert: cert2 }), 'invalid_metadata', /no signing certificate/],
      ['expired', () => publish([cert1], { validUntil: new Date(t.clock.now().getTime() - 60_000).toISOString() }), 'invalid_metadata', /expired at/],
      ['no SSO URL', () => (served.body = metadata({ entityId: idp.entityId, ssoUrl: 'javascript:alert(1)', certs: [cert1] })), 'invalid_metadata', /no SingleSignOnService/],
      ['a DOCTYPE', () => (served.body = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`), 'invalid_metadata', /DOCTYPE/],
    ];
    for (const [label, setUp, code, message] of cases) {
      setUp();
      const res = await create();
      expect(res.status, label).toBe(400);
      expect(res.body.errorCode, label).toBe(code);
      expect(res.body.message, label).toMatch(message);
    }
    publish([cert1]);
    const pinned = await create({ idp: { metadata_url: served.url, entity_id: 'https://someone-else.example/idp' } });
    expect(pinned.status).toBe(400);
    expect(pinned.body.message).toMatch(/entity id is https:\/\/idp\.orgsync-tests\.example\/metadata, not https:\/\/someone-else/);
    const unreachable = await create({ idp: { metadata_url: 'http://127.0.0.1:1/metadata' } });
    expect(unreachable.status).toBe(400);
    expect(unreachable.body.errorCode).toBe('metadata_fetch_failed');
    const ftp = await create({ idp: { metadata_url: 'ftp://idp.example.com/metadata' } });
    expect([ftp.status, ftp.body.errorCode]).toEqual([400, 'invalid_body']);
    expect(await count()).toBe(before);
  });

  it('refuses loopback and private addresses unless the deployment allows them, as for webhooks', async () => {
    const config = t.container.config;
    t.container.config = { ...config, webhookAllowPrivateTargets: false };
    try {
      for (const url of [served.url, 'http://10.0.0.8/metadata', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/metadata']) {
        const res = await create({ idp: { metadata_url: url } });
        expect([res.status, res.body.errorCode], url).toEqual([400, 'metadata_url_not_allowed']);
      }
      // Plain http to a public host: whoever sits on the way could swap the certificates in it.
      const plain = await create({ idp: { metadata_url: 'http://idp.example.com/metadata' } });
      expect([plain.status, plain.body.errorCode]).toEqual([400, 'metadata_url_not_allowed']);
      expect(JSON.stringify(plain.body)).toMatch(/must be https/);
    } finally {
      t.container.config = config;
    }
  });

  it('rolls certificates over: a new one is accepted once published, the old one refused once dropped', async () => {
    const conn = (await create()).body;
    const email = `roll@acme${n}.com`;
    expect((await signInSignedWith(conn, 'idp-test-only', email)).status).toBe(200);
    // Not yet published: a response signed with the new key is refused.
    expect((await signInSignedWith(conn, 'other-test-only', email)).status).toBe(400);

    publish([cert1, cert2]);
    const added = await t.api('POST', `/api/v1/connections/${conn.id}/metadata/refresh`);
    expect(added.status, added.text).toBe(200);
    expect(added.body).toMatchObject({ ok: true, changed: true, certificates_added: [fp(cert2)], certificates_removed: [], error: null });
    expect((await signInSignedWith(conn, 'other-test-only', email)).status).toBe(200);
    expect((await signInSignedWith(conn, 'idp-test-only', email)).status).toBe(200);

    publish([cert2]);
    const removed = await t.api('POST', `/api/v1/connections/${conn.id}/metadata/refresh`);
    expect(removed.body).toMatchObject({ ok: true, changed: true, certificates_added: [], certificates_removed: [fp(cert1)] });
    const refused = await signInSignedWith(conn, 'idp-test-only', email);
    expect([refused.status, JSON.parse(refused.text).errorCode]).toEqual([400, 'invalid_response']);
    expect((await signInSignedWith(conn, 'other-test-only', email)).status).toBe(200);
    expect((await t.api('GET', `/api/v1/connections/${conn.id}`)).body.idp.certificates).toEqual([cert2]);

    const audit = (await t.api('GET', '/api/v1/audit-logs?action=connection.metadata_refreshed')).body.audit_logs.filter((e: { detail: { connection_id: string } }) => e.detail.connection_id === conn.id);
    expect(audit.map((e: { detail: Record<string, unknown> }) => [e.detail.certificates_added, e.detail.certificates_removed])).toEqual([
      [[fp(cert2)], []],
      [[], [fp(cert1)]],
    ]);
    expect(audit[0].actor.type).toBe('api_key');
  });

  it("follows the IdP's WantAuthnRequestsSigned across refreshes, for a connection that leaves signing to it", async () => {
    const conn = (await create()).body;
    const signed = async () => {
      const res = await fetch(`${t.url}/sso/saml/${conn.id}/login`, { redirect: 'manual' });
      return new URL(res.headers.get('location')!).searchParams.has('Signature');
    };
    expect(await signed()).toBe(false);
    publish([cert1], { wantSigned: true });
    expect((await t.api('POST', `/api/v1/connections/${conn.id}/metadata/refresh`)).body).toMatchObject({ ok: true, changed: true });
    expect(await signed()).toBe(true);
    // A later rollover keeps it.
    publish([cert1, cert2], { wantSigned: true });
    expect((await t.api('POST', `/api/v1/connections/${conn.id}/metadata/refresh`)).body).toMatchObject({ ok: true, changed: true });
    expect(await signed()).toBe(true);
    publish([cert1, cert2]);
    expect((await t.api('POST', `/api/v1/connections/${conn.id}/metadata/refresh`)).body).toMatchObject({ ok: true, changed: true });
    expect(await signed()).toBe(false);
  });

  it('a refresh that fails keeps the last good metadata, shows the error, and recovers', async () => {
    const conn = (await create()).body;
    const email = `keep@acme${n}.com`;
    const failures: Array<[string, () => void, RegExp]> = [
      ['503', () => ((served.status = 503), (served.body = 'maintenance')), /HTTP 503/],
      ['invalid XML', () => ((served.status = 200), (served.body = '<md:EntityDescriptor')), /not well-formed XML/],
      ['no certificates', () => publish([]), /no signing certificate/],
      ['expired', () => publish([cert2], { validUntil: new Date(t.clock.now().getTime() - 1000).toISOString() }), /expired at/],
      // Whoever controls the URL must not swap the IdP's identity: the new entity id is refused.
      ['entity id changed', () => (served.body = metadata({ entityId: 'https://evil.example/idp', ssoUrl: 'https://evil.example/sso', certs: [cert2] })), /entity id is https:\/\/evil\.example\/idp.*never taken over/],
    ];
    for (const [label, setUp, message] of failures) {
      setUp();
      const res = await t.api('POST', `/api/v1/connections/${conn.id}/metadata/refresh`);
      expect(res.status, label).toBe(200);
      expect(res.body.ok, label).toBe(false);
      expect(res.body.error, label).toMatch(message);
      const now = (await t.api('GET', `/api/v1/connections/${conn.id}`)).body;
      expect(now.idp, label).toEqual({ entity_id: idp.entityId, sso_url: idp.ssoUrl, certificates: [cert1], metadata_url: served.url });
      expect(now.metadata_refresh.last_error, label).toMatch(message);
      expect(now.metadata_refresh.last_success_at, label).toBe(conn.metadata_refresh.last_success_at);
      expect((await signInSignedWith(conn, 'idp-test-only', email)).status, label).toBe(200);
      expect((await signInSignedWith(conn, 'other-test-only', email)).status, label).toBe(400);
    }
    const state = (await t.api('GET', `/api/v1/connections/${conn.id}`)).body.metadata_refresh;
    expect(state.failures).toBe(failures.length);
    // Retried sooner than the interval while failing.
    expect(Date.parse(state.next_refresh_at) - t.clock.now().getTime()).toBeLessThan(3600_000);
    const failedAudit = (await t.api('GET', '/api/v1/audit-logs?action=connection.metadata_refresh_failed')).body.audit_logs.filter((e: { detail: { connection_id: string } }) => e.detail.connection_id === conn.id);
    expect(failedAudit).toHaveLength(failures.length);

    publish([cert1]);
    const ok = await t.api('POST', `/api/v1/connections/${conn.id}/metadata/refresh`);
    expect(ok.body).toMatchObject({ ok: true, changed: false, error: null, metadata_refresh: { last_error: null, failures: 0 } });
  });

  it('refreshes on schedule when the time comes, one instance at a time', async () => {
    const conn = (await create()).body;
    const scheduler = new MetadataRefreshScheduler(t.container.db, t.clock, createLogger('silent'), t.container.samlMetadata);
    publish([cert1, cert2]);
    await scheduler.tick();
    expect((await t.api('GET', `/api/v1/connections/${conn.id}`)).body.idp.certificates).toEqual([cert1]);

    // Back to the present afterwards: sessions of later tests expire by the real clock's cookie dates.
    const clock = t.clock as ManualClock;
    const start = clock.now();
    onTestFinished(() => clock.set(start));
    clock.advance(14 * 3600_000); // past 12 h + 10 % jitter
    // Another instance holds this connection's lease: this one leaves it alone, and an on-demand refresh says so.
    const lease = `saml-metadata:${conn.id}`;
    expect(await tryAcquireLease(t.container.db, lease, 'other-instance', t.clock.now(), 60_000)).toBe(true);
    await scheduler.tick();
    expect((await t.api('GET', `/api/v1/connections/${conn.id}`)).body.idp.certificates).toEqual([cert1]);
    const busy = await t.api('POST', `/api/v1/connections/${conn.id}/metadata/refresh`);
    expect([busy.status, busy.body.errorCode]).toEqual([409, 'refresh_in_progress']);

    await t.container.db('job_locks').where({ name: lease }).delete();
    await scheduler.tick();
    const after = (await t.api('GET', `/api/v1/connections/${conn.id}`)).body;
    expect(after.idp.certificates).toEqual([cert1, cert2]);
    expect(Date.parse(after.metadata_refresh.next_refresh_at)).toBeGreaterThan(t.clock.now().getTime() + 10 * 3600_000);
    const audit = (await t.api('GET', '/api/v1/audit-logs?action=connection.metadata_refreshed')).body.audit_logs.at(-1);
    expect(audit).toMatchObject({ actor: { type: 'system' }, detail: { connection_id: conn.id, trigger: 'schedule', certificates_added: [fp(cert2)] } });
  });

  it('PATCH to pasted or manual settings stops the refresh; PATCH to a URL starts it', async () => {
    const conn = (await create()).body;
    const manual = await t.api('PATCH', `/api/v1/connections/${conn.id}`, { body: { idp: { entity_id: idp.entityId, sso_url: idp.ssoUrl, certificates: [cert2] } } });
    expect(manual.status).toBe(200);
    expect(manual.body.metadata_refresh).toBeNull();
    expect(await t.container.db('saml_metadata_refresh').where({ connection_id: conn.id }).first()).toBeUndefined();
    const noUrl = await t.api('POST', `/api/v1/connections/${conn.id}/metadata/refresh`);
    expect([noUrl.status, noUrl.body.errorCode]).toEqual([400, 'invalid_request']);
    const back = await t.api('PATCH', `/api/v1/connections/${conn.id}`, { body: { idp: { metadata_url: served.url } } });
    expect(back.status).toBe(200);
    expect(back.body.idp.certificates).toEqual([cert1]);
    expect(back.body.metadata_refresh.last_error).toBeNull();
    const updated = (await t.api('GET', '/api/v1/audit-logs?action=connection.updated')).body.audit_logs.at(-1);
    expect(updated.detail).toMatchObject({ metadata_url: served.url, certificates_added: [fp(cert1)], certificates_removed: [fp(cert2)] });
    const oidc = await t.api('POST', '/api/v1/connections', { body: { name: 'oidc-x', type: 'oidc', domains: ['oidc-x.com'], idp: { issuer: 'http://127.0.0.1:1', client_id: 'c', client_secret: 's' } } });
    expect(oidc.status).toBe(201);
    const before = served.requests;
    const wrongType = await t.api('PATCH', `/api/v1/connections/${oidc.body.id}`, { body: { idp: { metadata_url: served.url } } });
    expect(wrongType.status).toBe(400);
    expect(served.requests).toBe(before);
  });

  it('another tenant’s key without update:connections cannot point a connection elsewhere or refresh it', async () => {
    const conn = (await create()).body;
    const narrow = await t.keyWith('read:connections', 'create:connections', 'update:organizations', 'update:directories');
    const before = served.requests;
    const patch = await t.api('PATCH', `/api/v1/connections/${conn.id}`, { key: narrow, body: { idp: { metadata_url: 'http://127.0.0.1:9/evil' } } });
    expect([patch.status, patch.body.errorCode]).toEqual([403, 'insufficient_scope']);
    const refresh = await t.api('POST', `/api/v1/connections/${conn.id}/metadata/refresh`, { key: narrow });
    expect([refresh.status, refresh.body.errorCode]).toEqual([403, 'insufficient_scope']);
    const anonymous = await t.api('POST', `/api/v1/connections/${conn.id}/metadata/refresh`, { key: null });
    expect(anonymous.status).toBe(401);
    expect(served.requests).toBe(before);
    expect((await t.api('GET', `/api/v1/connections/${conn.id}`)).body.idp.metadata_url).toBe(served.url);
  });

  it('admin page: shows the refresh state and its error, and refreshes on request for keys that may update connections', async () => {
    const conn = (await create()).body;
    const admin = new AdminClient(t.url);
    await admin.signIn(t.adminKey);
    let page = await admin.get('/admin/connections');
    expect(page.text).toContain(`value="${served.url}"`);
    expect(page.text).toContain(`action="/admin/connections/${conn.id}/metadata/refresh"`);

    served.status = 502;
    const failed = await admin.post(`/admin/connections/${conn.id}/metadata/refresh`);
    expect([failed.status, failed.location]).toEqual([303, `/admin/connections#c-${conn.id}-title`]);
    page = await admin.get('/admin/connections');
    expect(page.text).toContain('could not be refreshed: Could not fetch the metadata: HTTP 502.');
    expect(page.text).toMatch(/class="error-text metadata-error">Could not fetch the metadata: HTTP 502\./);

    publish([cert1, cert2]);
    await admin.post(`/admin/connections/${conn.id}/metadata/refresh`);
    page = await admin.get('/admin/connections');
    expect(page.text).toContain('refreshed: certificates added: 1, removed: 0.');
    expect((await t.api('GET', `/api/v1/connections/${conn.id}`)).body.idp.certificates).toEqual([cert1, cert2]);

    // A key that may only read connections sees the state but gets no button, and the form is refused.
    const reader = new AdminClient(t.url);
    await reader.signIn(await t.keyWith('read:connections'));
    const readerPage = await reader.get('/admin/connections');
    expect(readerPage.text).toContain(`value="${served.url}"`);
    expect(readerPage.text).not.toContain(`/metadata/refresh"`);
    const refused = await reader.post(`/admin/connections/${conn.id}/metadata/refresh`);
    expect(refused.status).toBe(403);
    // Without the form token: refused before anything is fetched.
    const before = served.requests;
    expect((await admin.post(`/admin/connections/${conn.id}/metadata/refresh`, {}, { csrf: false })).status).toBe(403);
    expect(served.requests).toBe(before);
  });

  it("another customer's IT admin, holding their own setup link, sets a metadata URL on their draft only and reaches nothing of A's", async () => {
    const a = (await create()).body;
    const before = await t.container.db('connections').where({ id: a.id }).first();
    await t.api('POST', '/api/v1/organizations', { body: { name: 'globex-setup' } });
    const link = (await t.api('POST', '/api/v1/organizations/globex-setup/setup-links', { body: { intents: ['sso'] } })).body;
    const b = new SetupLinkVisitor(t);
    await b.open(link.url);
    expect((await b.post('/provider', { provider: 'saml' })).status).toBe(200);
    publish([cert2]);
    expect((await b.post('/saml', { metadata_url: served.url })).status).toBe(200);
    const draft = (await b.state()).connection.id as string;
    expect(draft).not.toBe(a.id);
    // B's draft keeps its URL and is refreshed like any other; A's connection is as it was.
    const draftView = (await t.api('GET', `/api/v1/connections/${draft}`)).body;
    expect(draftView.idp).toMatchObject({ metadata_url: served.url, certificates: [cert2] });
    expect(draftView.metadata_refresh.last_error).toBeNull();
    expect(await t.container.db('connections').where({ id: a.id }).first()).toEqual(before);
    // The setup pages have no way to refresh or change another connection, and its cookie is no API key.
    const fetches = served.requests;
    const viaApi = await b.browser.request('POST', `${t.url}/api/v1/connections/${a.id}/metadata/refresh`, { headers: { accept: 'application/json' } });
    expect(viaApi.status).toBe(401);
    const viaAdmin = await b.browser.request('POST', `${t.url}/admin/connections/${a.id}/metadata/refresh`, { headers: { origin: t.url, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(viaAdmin.headers.get('location') ?? '').not.toContain('/admin/connections');
    expect(served.requests).toBe(fetches);
    expect(await t.container.db('connections').where({ id: a.id }).first()).toEqual(before);
  });
});
