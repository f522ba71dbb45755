import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { ManualClock } from '../../src/platform/clock.js';
import { loadConfig } from '../../src/config/index.js';
import { SamlTestIdp } from '../helpers/saml-idp.js';

describe('setup links API', () => {
  let t: TestApp;
  let dns: TestDnsServer;
  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(() => dns.close());
  afterEach(() => t.close());

  const start = (clock = new ManualClock(new Date('2026-03-01T00:00:00Z'))) => startTestApp({ clock, env: { DNS_RESOLVERS: dns.address } });
  const org = async (name: string) => (await t.api('POST', '/api/v1/organizations', { body: { name } })).body.id as string;

  it('returns the URL once, stores only a hash, lists, expires after 7 days by default, and revokes', async () => {
    const clock = new ManualClock(new Date('2026-03-01T00:00:00Z'));
    t = await start(clock);
    const acme = await org('acme');
    const created = await t.api('POST', `/api/v1/organizations/${acme}/setup-links`, { body: { intents: ['sso', 'directory'] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ organization_id: acme, intents: ['sso', 'directory'], status: 'active', expires_at: '2026-03-08T00:00:00.000Z' });
    const token = new URL(created.body.url).searchParams.get('link')!;
    expect(token).toMatch(/^osl_[A-Za-z0-9_-]{40,}$/);
    expect(created.body.url.startsWith(`${t.url}/setup?`)).toBe(true);

    const stored = await t.container.db('setup_links').where({ id: created.body.id }).first();
    expect(JSON.stringify(stored)).not.toContain(token);

    const list = await t.api('GET', `/api/v1/organizations/acme/setup-links`);
    expect(list.body).toMatchObject({ setup_links: [{ id: created.body.id, status: 'active' }], next: null });
    expect(list.text).not.toContain(token);
    expect(list.body.setup_links[0].url).toBeUndefined();

    clock.advance(7 * 24 * 3600 * 1000);
    expect((await t.api('GET', `/api/v1/organizations/${acme}/setup-links/${created.body.id}`)).body.status).toBe('expired');

    const second = await t.api('POST', `/api/v1/organizations/${acme}/setup-links`, { body: { intents: ['sso'], expires_in: 3600 } });
    expect(second.body.expires_at).toBe('2026-03-08T01:00:00.000Z');
    expect((await t.api('DELETE', `/api/v1/organizations/${acme}/setup-links/${second.body.id}`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/organizations/${acme}/setup-links/${second.body.id}`)).body).toMatchObject({ status: 'revoked' });

    const audit = await t.api('GET', '/api/v1/audit-logs?action=setup_link.created');
    expect(audit.body.audit_logs).toHaveLength(2);
    expect(audit.text).not.toContain(token);
    expect((await t.api('GET', '/api/v1/audit-logs?action=setup_link.revoked')).body.audit_logs).toHaveLength(1);
  });

  it('keeps one live link per organization and intent: a new one revokes the overlapping one only', async () => {
    t = await start();
    const acme = await org('acme');
    const sso = (await t.api('POST', `/api/v1/organizations/${acme}/setup-links`, { body: { intents: ['sso'] } })).body;
    const other = (await t.api('POST', `/api/v1/organizations/${await org('globex')}/setup-links`, { body: { intents: ['sso'] } })).body;
    const again = (await t.api('POST', `/api/v1/organizations/${acme}/setup-links`, { body: { intents: ['sso', 'directory'] } })).body;
    const links = (await t.api('GET', `/api/v1/organizations/${acme}/setup-links`)).body.setup_links as { id: string; status: string }[];
    expect(links.filter((l) => l.status === 'active').map((l) => l.id)).toEqual([again.id]);
    expect(links.find((l) => l.id === sso.id)?.status).toBe('revoked');
    expect((await t.api('GET', `/api/v1/organizations/globex/setup-links/${other.id}`)).body.status).toBe('active');
  });

  it('scopes: a link never grants more than the issuing key; another organization sees none of the links', async () => {
    t = await start();
    const acme = await org('acme');
    await org('globex');
    const link = (await t.api('POST', `/api/v1/organizations/${acme}/setup-links`, { body: { intents: ['sso'] } })).body;
    const directoriesOnly = await t.keyWith('create:directories');
    const refused = await t.api('POST', `/api/v1/organizations/${acme}/setup-links`, { key: directoriesOnly, body: { intents: ['sso'] } });
    expect(refused.status).toBe(403);
    expect(refused.body.errorCode).toBe('insufficient_scope');
    expect((await t.api('GET', `/api/v1/organizations/globex/setup-links/${link.id}`)).status).toBe(404);
    expect((await t.api('DELETE', `/api/v1/organizations/globex/setup-links/${link.id}`)).status).toBe(404);
    expect((await t.api('GET', `/api/v1/organizations/${acme}/setup-links/${link.id}`)).body.status).toBe('active');
    const readOnly = await t.keyWith('read:connections');
    expect((await t.api('DELETE', `/api/v1/organizations/${acme}/setup-links/${link.id}`, { key: readOnly })).status).toBe(403);
    // A directory-only link needs a connection already governing the organization.
    const dirOnly = await t.api('POST', `/api/v1/organizations/${acme}/setup-links`, { body: { intents: ['directory'] } });
    expect(dirOnly.status).toBe(409);
    expect(dirOnly.body.errorCode).toBe('organization_not_sso_enabled');
    expect((await t.api('POST', `/api/v1/organizations/${acme}/setup-links`, { body: { intents: ['sso'], expires_in: 10 } })).status).toBe(400);
  });

  it('proves a connection domain by a DNS TXT record on a real resolver: not found yet, then verified; a claimed domain is 409 without saying whose', async () => {
    t = await start();
    const idp = new SamlTestIdp();
    await idp.start();
    onTestFinished(() => idp.stop());
    const conn = (await t.api('POST', '/api/v1/connections', { body: { name: 'acme-okta', type: 'saml', domains: ['acme.com'], idp: { metadata_xml: idp.metadataXml() } } })).body;
    const other = (await t.api('POST', '/api/v1/connections', { body: { name: 'globex-okta', type: 'saml', domains: ['globex.com'], idp: { metadata_xml: idp.metadataXml() } } })).body;

    const challenge = await t.api('POST', `/api/v1/connections/${conn.id}/domain-challenges`, { body: { domain: 'Acme.io' } });
    expect(challenge.status).toBe(201);
    expect(challenge.body).toMatchObject({ domain: 'acme.io', status: 'pending', record_type: 'TXT', record_name: '_orgsync-challenge.acme.io' });
    const value = challenge.body.record_value as string;
    expect(value).toMatch(/^orgsync-domain-verification=/);

    const notYet = await t.api('POST', `/api/v1/connections/${conn.id}/domain-challenges/acme.io/check`);
    expect(notYet.body).toMatchObject({ status: 'pending', result: 'not_found' });
    expect(dns.queries).toContain('_orgsync-challenge.acme.io');

    dns.records.set('_orgsync-challenge.acme.io', ['v=spf1 -all', value]);
    const verified = await t.api('POST', `/api/v1/connections/${conn.id}/domain-challenges/acme.io/check`);
    expect(verified.body).toMatchObject({ status: 'verified', result: 'verified' });
    expect((await t.api('GET', `/api/v1/connections/${conn.id}`)).body.domains).toEqual(['acme.com', 'acme.io']);
    expect((await t.api('GET', '/api/v1/audit-logs?action=connection.domain_verified')).body.audit_logs).toHaveLength(1);

    // Another connection proving the same domain, even with its own record published, is refused.
    const steal = await t.api('POST', `/api/v1/connections/${other.id}/domain-challenges`, { body: { domain: 'acme.io' } });
    expect(steal.status).toBe(409);
    expect(steal.body.errorCode).toBe('domain_already_claimed');
    expect(steal.text).not.toContain('acme-okta');
    expect(steal.text).not.toContain(conn.id);

    // A lookup that fails (SERVFAIL) is reported as such, not as "not found".
    await t.api('POST', `/api/v1/connections/${other.id}/domain-challenges`, { body: { domain: 'globex.io' } });
    dns.failing.add('_orgsync-challenge.globex.io');
    const failed = await t.api('POST', `/api/v1/connections/${other.id}/domain-challenges/globex.io/check`);
    expect(failed.body).toMatchObject({ status: 'pending', result: 'lookup_failed' });
  });
});

describe('DNS_RESOLVERS', () => {
  it('is validated at start', () => {
    expect(loadConfig({ DNS_RESOLVERS: '127.0.0.1:5353, 10.0.0.2' }).dnsResolvers).toEqual(['127.0.0.1:5353', '10.0.0.2']);
    expect(() => loadConfig({ DNS_RESOLVERS: 'dns.example.com' })).toThrow(/DNS_RESOLVERS/);
  });
});
