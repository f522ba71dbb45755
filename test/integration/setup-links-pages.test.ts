import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { SamlTestIdp } from '../helpers/saml-idp.js';
import { OidcTestOp, signInAtOp } from '../helpers/oidc-op.js';
import { serveDocument, SetupLinkVisitor } from '../helpers/setup-link.js';
import { ManualClock } from '../../src/platform/clock.js';

describe('setup link pages', () => {
  let t: TestApp;
  let dns: TestDnsServer;
  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(() => dns.close());
  afterEach(() => t.close());

  const start = (env: Record<string, string> = {}, clock?: ManualClock) => startTestApp({ clock, env: { DNS_RESOLVERS: dns.address, ...env } });
  const newLink = async (org: string, intents = ['sso']) => {
    const res = await t.api('POST', `/api/v1/organizations/${org}/setup-links`, { body: { intents } });
    expect(res.status).toBe(201);
    return res.body as { id: string; url: string };
  };
  const proveDomain = async (v: SetupLinkVisitor, domain: string) => {
    const challenge = await v.post('/domains', { domain });
    expect(challenge.status).toBe(200);
    dns.records.set(challenge.body.record_name, [challenge.body.record_value]);
    return v.post(`/domains/${domain}/check`);
  };

  it('SAML by metadata URL: domains by DNS, roles, a test sign-in that creates nothing, then finish makes the connection live for this organization only', async () => {
    t = await start({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    const idp = new SamlTestIdp();
    await idp.start();
    const metadata = await serveDocument(() => idp.metadataXml());
    onTestFinished(async () => {
      await idp.stop();
      await metadata.close();
    });
    await t.api('POST', '/api/v1/organizations', { body: { name: 'acme', display_name: 'Acme Inc' } });
    await t.api('POST', '/api/v1/organizations', { body: { name: 'globex' } });
    const link = await newLink('acme');
    const v = new SetupLinkVisitor(t);
    const opened = await v.open(link.url);
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/setup');
    expect(opened.headers.get('set-cookie')).toMatch(/orgsync_setup=.*Path=\/setup.*HttpOnly.*SameSite=Lax/);

    expect((await v.post('/provider', { provider: 'okta' })).status).toBe(200);
    const state = await v.state();
    expect(state.provider.key).toBe('okta');
    expect(state.sp.acs_url).toBe(`${t.url}/sso/saml/${state.connection.id}/acs`);
    const page = await v.browser.request('GET', `${t.url}/setup`);
    expect(page.text).toContain(`data-copy="${state.sp.acs_url}"`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");

    expect((await v.post('/saml', { metadata_url: metadata.url })).status).toBe(200);
    expect((await v.state()).connection).toMatchObject({ configured: true, idp_summary: idp.entityId });

    // Not found yet, then found after the record is published.
    const pending = await v.post('/domains', { domain: 'acme.com' });
    expect(pending.body).toMatchObject({ domain: 'acme.com', status: 'pending', record_name: '_orgsync-challenge.acme.com' });
    expect((await v.post('/domains/acme.com/check')).body).toMatchObject({ status: 'pending', result: 'not_found' });
    expect((await v.state()).missing).toContain('Verify at least one email domain.');
    dns.records.set('_orgsync-challenge.acme.com', [pending.body.record_value]);
    expect((await v.post('/domains/acme.com/check')).body).toMatchObject({ status: 'verified', result: 'verified' });

    expect((await v.post('/roles', { everyone: '', groups_admin: 'it-admins', groups_member: 'staff, contractors', organization: 'globex' })).status).toBe(200);

    // Test sign-in: a real SAML round trip through the IdP; what arrived and what would happen.
    idp.spMetadata = (await v.browser.request('GET', `${t.url}/sso/saml/${state.connection.id}/metadata`)).text;
    idp.user = { nameId: 'alice@acme.com', email: 'alice@acme.com', groups: ['it-admins'] };
    const tested = await v.browser.follow('GET', `${t.url}/sso/saml/${state.connection.id}/login?return_to=/account`);
    expect(tested.url).toBe(`${t.url}/setup#test`);
    expect(tested.text).toContain('Would join Acme Inc as admin.');
    expect((await v.state()).test).toMatchObject({ email: 'alice@acme.com', groups: ['it-admins'], outcome: { kind: 'would_add', role: 'admin' } });
    expect(await t.container.db('users').select('id')).toEqual([]);
    expect(await t.container.db('identities').select('user_id')).toEqual([]);
    expect(v.browser.cookie(t.url, 'orgsync.sid')).toBeUndefined();

    expect((await v.post('/finish')).body).toEqual({ finished: true });
    const conn = (await t.api('GET', `/api/v1/connections/${state.connection.id}`)).body;
    expect(conn).toMatchObject({ status: 'active', domains: ['acme.com'] });
    expect(conn.membership_rules.map((r: { organization: string }) => r.organization)).toEqual(['acme', 'acme']);
    expect((await t.api('GET', '/api/v1/organizations/acme')).body.sso).toEqual({ enabled: true, connection_id: conn.id });
    expect((await t.api('GET', '/api/v1/organizations/globex')).body.sso.enabled).toBe(false);

    const history = (await t.api('GET', '/api/v1/audit-logs?organization=acme&take=100')).body.audit_logs as { action: string; actor: { type: string; id: string } }[];
    expect(history.filter((e) => e.actor.type === 'setup_link').map((e) => e.action)).toEqual(
      expect.arrayContaining(['setup_link.opened', 'setup_link.provider_chosen', 'setup_link.domain_verified', 'setup_link.test_sign_in', 'setup_link.finished']),
    );
    expect(history.every((e) => e.actor.type !== 'setup_link' || e.actor.id === link.id)).toBe(true);

    // Reused: the finished link and its cookie open nothing any more.
    expect((await v.post('/roles', { everyone: 'owner' })).status).toBe(410);
    expect((await new SetupLinkVisitor(t).open(link.url)).status).toBe(410);
    // A real sign-in now goes through login sync.
    idp.spMetadata = (await v.browser.request('GET', `${t.url}/sso/saml/${conn.id}/metadata`)).text;
    await v.browser.follow('GET', `${t.url}/sso/saml/${conn.id}/login?return_to=/account`);
    expect((await t.api('GET', '/api/v1/organizations/acme/members')).body.members).toMatchObject([{ email: 'alice@acme.com', role: 'admin', source: 'sso' }]);
  });

  it('OIDC by issuer, client id and secret: test sign-in through a real OP, then finish', async () => {
    t = await start({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    const op = new OidcTestOp();
    await op.start();
    onTestFinished(() => op.stop());
    await t.api('POST', '/api/v1/organizations', { body: { name: 'initech' } });
    const v = new SetupLinkVisitor(t);
    await v.open((await newLink('initech', ['sso', 'directory'])).url);
    await v.post('/provider', { provider: 'keycloak' });
    const state = await v.state();
    op.configure({ client_id: 'orgsync', client_secret: 'op-secret-0123456789', redirect_uris: [state.sp.redirect_uri] });
    op.accounts.set('u-1', { sub: 'u-1', email: 'bob@initech.com', email_verified: true, name: 'Bob', groups: ['eng'] });
    expect((await v.post('/oidc', { issuer: op.issuer, client_id: 'orgsync', client_secret: 'op-secret-0123456789', scopes: 'openid email profile groups' })).status).toBe(200);
    expect((await proveDomain(v, 'initech.com')).body.status).toBe('verified');

    const tested = await signInAtOp(v.browser, `${t.url}/sso/oidc/${state.connection.id}/login`, 'u-1');
    expect(tested.url).toBe(`${t.url}/setup#test`);
    expect(tested.text).toContain('Would join initech as member.');
    expect((await v.state()).test).toMatchObject({ subject: 'u-1', email: 'bob@initech.com', name: 'Bob', groups: ['eng'], outcome: { kind: 'would_add', role: 'member' } });

    const dir = await v.post('/directory');
    expect(dir.body.token).toMatch(/^osd_/);
    const scim = await fetch(`${dir.body.scim_base_url}/Users`, { method: 'POST', headers: { authorization: `Bearer ${dir.body.token}`, 'content-type': 'application/scim+json' }, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'carol@initech.com', emails: [{ value: 'carol@initech.com', primary: true }] }) });
    expect(scim.status).toBe(201);
    const status = await v.browser.request('GET', `${t.url}/setup/directory/status`, { headers: { accept: 'application/json' } });
    expect(JSON.parse(status.text)).toMatchObject({ users: 1, groups: 0 });
    expect(JSON.parse(status.text).summary).toMatch(/^received 1 users, 0 groups, last request \d+ s ago$/);
    expect((await v.state()).directory.scim_base_url).toBe(dir.body.scim_base_url);
    expect(JSON.stringify(await v.state())).not.toContain(dir.body.token);
    expect((await v.post('/directory')).status).toBe(409);

    expect((await v.post('/finish')).status).toBe(200);
    expect((await t.api('GET', `/api/v1/connections/${state.connection.id}`)).body).toMatchObject({ status: 'active', type: 'oidc', domains: ['initech.com'] });
  });

  it('refuses expired, revoked, reused and forged links', async () => {
    const clock = new ManualClock(new Date('2026-03-01T00:00:00Z'));
    t = await start({}, clock);
    await t.api('POST', '/api/v1/organizations', { body: { name: 'acme' } });
    const first = await newLink('acme');
    const v = new SetupLinkVisitor(t);
    await v.open(first.url);
    // Replaced by a new link: the old URL and the cookie it gave stop working.
    const second = await newLink('acme');
    expect((await v.post('/provider', { provider: 'okta' })).status).toBe(410);
    expect((await new SetupLinkVisitor(t).open(first.url)).status).toBe(410);

    const w = new SetupLinkVisitor(t);
    expect((await w.open(second.url)).status).toBe(303);
    clock.advance(7 * 24 * 3600 * 1000 + 1);
    const expired = await w.post('/provider', { provider: 'okta' });
    expect(expired).toMatchObject({ status: 410, body: { errorCode: 'setup_link_expired' } });
    expect((await new SetupLinkVisitor(t).open(second.url)).status).toBe(410);

    const third = await newLink('acme');
    const x = new SetupLinkVisitor(t);
    await x.open(third.url);
    await t.api('DELETE', `/api/v1/organizations/acme/setup-links/${third.id}`);
    expect((await x.post('/provider', { provider: 'okta' })).body.errorCode).toBe('setup_link_revoked');

    expect((await new SetupLinkVisitor(t).open(`${t.url}/setup?link=osl_${'A'.repeat(43)}`)).status).toBe(404);
    const forged = await fetch(`${t.url}/setup`, { headers: { cookie: `orgsync_setup=${third.id}.AAAA`, accept: 'application/json' } });
    expect(forged.status).toBe(404);
    expect((await fetch(`${t.url}/setup`, { headers: { accept: 'application/json' } })).status).toBe(404);
  });

  it('CSRF: a change needs the link token and our Origin', async () => {
    t = await start();
    await t.api('POST', '/api/v1/organizations', { body: { name: 'acme' } });
    const v = new SetupLinkVisitor(t);
    await v.open((await newLink('acme')).url);
    expect((await v.post('/provider', { provider: 'okta' }, { 'x-csrf-token': 'wrong' })).status).toBe(403);
    expect((await v.post('/provider', { provider: 'okta' }, { origin: 'https://evil.example' })).status).toBe(403);
    const form = await v.browser.request('POST', `${t.url}/setup/provider`, { body: 'provider=okta', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(403);
    expect((await v.state()).provider).toBeNull();
    expect((await v.post('/provider', { provider: 'okta' }, { origin: new URL(t.url).origin })).status).toBe(200);
  });

  it("another tenant's domain is 409 domain_already_claimed without saying whose; operators can still set domains", async () => {
    t = await start();
    const idp = new SamlTestIdp();
    await idp.start();
    onTestFinished(() => idp.stop());
    await t.api('POST', '/api/v1/connections', { body: { name: 'globex-okta', type: 'saml', domains: ['globex.com'], idp: { metadata_xml: idp.metadataXml() } } });
    await t.api('POST', '/api/v1/organizations', { body: { name: 'acme' } });
    const v = new SetupLinkVisitor(t);
    await v.open((await newLink('acme')).url);
    await v.post('/provider', { provider: 'saml' });
    const claimed = await v.post('/domains', { domain: 'GLOBEX.com' });
    expect(claimed.status).toBe(409);
    expect(claimed.body.errorCode).toBe('domain_already_claimed');
    expect(JSON.stringify(claimed.body)).not.toMatch(/globex-okta|[0-9a-f]{8}-[0-9a-f]{4}/);
    // Proven first, then claimed by an operator before Finish: Finish is refused the same way.
    await v.post('/saml', { metadata_xml: idp.metadataXml() });
    expect((await proveDomain(v, 'acme.com')).body.status).toBe('verified');
    await t.api('PATCH', '/api/v1/connections/globex-okta', { body: { domains: ['globex.com', 'acme.com'] } });
    const finish = await v.post('/finish');
    expect(finish).toMatchObject({ status: 409, body: { errorCode: 'domain_already_claimed' } });
  });

  it('metadata: private addresses refused (SSRF), oversized and DOCTYPE documents refused', async () => {
    t = await start();
    await t.api('POST', '/api/v1/organizations', { body: { name: 'acme' } });
    const v = new SetupLinkVisitor(t);
    await v.open((await newLink('acme')).url);
    await v.post('/provider', { provider: 'saml' });
    const big = await serveDocument(() => `<x>${'a'.repeat(600_000)}</x>`);
    onTestFinished(() => big.close());
    for (const url of [big.url, 'http://169.254.169.254/latest/meta-data', 'http://10.0.0.1/metadata', 'http://[::1]/m', 'file:///etc/passwd']) {
      const res = await v.post('/saml', { metadata_url: url });
      expect(res.status, url).toBe(400);
      expect(res.body.errorCode, url).toBe('metadata_url_not_allowed');
    }
    const doctype = await v.post('/saml', { metadata_xml: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>' });
    expect(doctype).toMatchObject({ status: 400, body: { errorCode: 'invalid_metadata' } });
    expect((await v.post('/saml', { metadata_xml: `<x>${'a'.repeat(520_000)}</x>` })).status).toBe(413);
    await v.post('/provider', { provider: 'oidc' });
    const issuer = await v.post('/oidc', { issuer: 'http://127.0.0.1:9/', client_id: 'c', client_secret: 's' });
    expect(issuer.body.errorCode).toBe('metadata_url_not_allowed');
    expect((await v.state()).connection.configured).toBe(false);
  });

  it('oversized metadata by URL is cut off at the limit', async () => {
    t = await start({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    await t.api('POST', '/api/v1/organizations', { body: { name: 'acme' } });
    const v = new SetupLinkVisitor(t);
    await v.open((await newLink('acme')).url);
    await v.post('/provider', { provider: 'saml' });
    const big = await serveDocument(() => `<x>${'a'.repeat(600_000)}</x>`);
    const doctype = await serveDocument(() => '<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>');
    onTestFinished(async () => {
      await big.close();
      await doctype.close();
    });
    expect((await v.post('/saml', { metadata_url: big.url })).body.errorCode).toBe('metadata_too_large');
    expect((await v.post('/saml', { metadata_url: doctype.url })).body.errorCode).toBe('invalid_metadata');
  });

  it('a link touches only its own organization', async () => {
    t = await start();
    const idp = new SamlTestIdp();
    await idp.start();
    onTestFinished(() => idp.stop());
    await t.api('POST', '/api/v1/organizations', { body: { name: 'acme' } });
    await t.api('POST', '/api/v1/organizations', { body: { name: 'globex' } });
    // globex's own connection also governs a third organization: a directory-only link for it would reach both.
    await t.api('POST', '/api/v1/organizations', { body: { name: 'globex-eu' } });
    await t.api('POST', '/api/v1/connections', { body: { name: 'globex-okta', type: 'saml', domains: ['globex.com'], idp: { metadata_xml: idp.metadataXml() }, membership_rules: [{ organization: 'globex', role: 'member' }, { organization: 'globex-eu', role: 'member' }] } });
    const shared = await t.api('POST', '/api/v1/organizations/globex/setup-links', { body: { intents: ['directory'] } });
    expect(shared.status).toBe(409);
    expect(shared.body.errorCode).toBe('connection_governs_other_organizations');

    const acme = new SetupLinkVisitor(t);
    await acme.open((await newLink('acme')).url);
    const globex = new SetupLinkVisitor(t);
    await globex.open((await newLink('globex')).url);
    // acme's cookie with globex's CSRF token, and the reverse, change nothing.
    expect((await acme.post('/provider', { provider: 'okta' }, { 'x-csrf-token': globex.csrf })).status).toBe(403);
    await acme.post('/provider', { provider: 'saml' });
    const acmeState = await acme.state();
    expect(acmeState.organization.name).toBe('acme');
    expect((await globex.state()).connection).toBeNull();
    // Rules name only the link's organization, whatever the form sends.
    await acme.post('/roles', { everyone: 'owner', organization: 'globex', groups_owner: ['x'] });
    await acme.post('/saml', { metadata_xml: idp.metadataXml() });
    await proveDomain(acme, 'acme.com');
    expect((await acme.post('/finish')).status).toBe(200);
    const conn = (await t.api('GET', `/api/v1/connections/${acmeState.connection.id}`)).body;
    expect(new Set(conn.membership_rules.map((r: { organization: string }) => r.organization))).toEqual(new Set(['acme']));
    expect((await t.api('GET', '/api/v1/organizations/globex')).body.sso.connection_id).not.toBe(conn.id);
  });

  it('rate-limits anonymous callers per client with RATE_LIMIT_ANONYMOUS_PER_MINUTE', async () => {
    t = await start({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: '3' });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await fetch(`${t.url}/setup?link=osl_nope`)).status);
    expect(codes).toEqual([404, 404, 404, 429]);
  });

  it('shares one anonymous budget per client with the sign-in endpoints', async () => {
    t = await start({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: '3' });
    const codes: number[] = [];
    for (let i = 0; i < 2; i++) codes.push((await fetch(`${t.url}/sso/saml/conn_nope/login`, { redirect: 'manual' })).status);
    codes.push((await fetch(`${t.url}/setup?link=osl_nope`)).status);
    codes.push((await fetch(`${t.url}/setup?link=osl_nope`)).status);
    expect(codes.slice(2)).toEqual([404, 429]);
    expect(codes.slice(0, 2).every((c) => c !== 429)).toBe(true);
  });
});
