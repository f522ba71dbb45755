import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

const metadata = readFileSync(new URL('../../fixtures/saml/idp-metadata.okta-style.xml', import.meta.url), 'utf8');
const certPem = readFileSync(new URL('../../fixtures/saml/keys/idp-test-only.crt', import.meta.url), 'utf8');

let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
  for (const name of ['acme', 'acme-eng', 'other']) expect((await t.api('POST', '/api/v1/organizations', { body: { name } })).status).toBe(201);
});
afterEach(async () => {
  await t.close();
});

const saml = (over: Record<string, unknown> = {}) => ({ name: 'acme-okta', type: 'saml', domains: ['acme.com'], idp: { metadata_xml: metadata }, ...over });

describe('connections API', () => {
  it('creates a SAML connection from metadata XML with SP settings, defaults and governed organizations', async () => {
    const res = await t.api('POST', '/api/v1/connections', {
      body: saml({ membership_rules: [{ organization: 'acme', role: 'member' }, { organization: 'acme-eng', role: 'admin', groups: ['Engineering'] }] }),
    });
    expect(res.status).toBe(201);
    const c = res.body;
    expect(c).toMatchObject({ name: 'acme-okta', type: 'saml', domains: ['acme.com'], roles_managed_by: 'idp', membership_sync: 'on_login', allow_idp_initiated: false });
    expect(c.idp.entity_id).toBe('http://www.okta.com/exk-test-idp');
    expect(c.idp.sso_url).toBe('https://idp.example.test/app/sso/saml');
    expect(c.idp.certificates).toHaveLength(1);
    expect(c.sp).toEqual({
      entity_id: `${t.url}/sso/saml/${c.id}/metadata`,
      acs_url: `${t.url}/sso/saml/${c.id}/acs`,
      metadata_url: `${t.url}/sso/saml/${c.id}/metadata`,
      login_url: `${t.url}/sso/saml/${c.id}/login`,
    });
    expect(c.attribute_mapping.groups).toContain('http://schemas.microsoft.com/ws/2008/06/identity/claims/groups');
    expect(c.attribute_mapping.external_id).toContain('http://schemas.microsoft.com/identity/claims/objectidentifier');
    expect(c.membership_rules.map((r: { organization: string }) => r.organization)).toEqual(['acme', 'acme-eng']);
    expect((await t.api('GET', '/api/v1/organizations/acme')).body.sso).toEqual({ enabled: true, connection_id: c.id });
    expect((await t.api('GET', '/api/v1/organizations/other')).body.sso.enabled).toBe(false);
    const audit = await t.api('GET', '/api/v1/audit-logs?action=connection.created');
    expect(audit.body.audit_logs).toHaveLength(1);
  });

  it('accepts entity id, SSO URL and PEM or bare base64 certificates', async () => {
    const bare = certPem.replace(/-----[A-Z ]+-----|\s/g, '');
    const res = await t.api('POST', '/api/v1/connections', {
      body: saml({ idp: { entity_id: 'urn:idp', sso_url: 'https://idp.test/sso', certificates: [certPem, bare] } }),
    });
    expect(res.status).toBe(201);
    expect(res.body.idp.certificates).toEqual([bare, bare]);
    const bad = await t.api('POST', '/api/v1/connections', { body: saml({ name: 'x2', domains: ['x.com'], idp: { entity_id: 'e', sso_url: 'https://i.test', certificates: ['nope'] } }) });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/idp\.certificates\.0/);
  });

  it('refuses metadata with a DOCTYPE (entities) and malformed metadata', async () => {
    const evil = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${metadata.replace(/^<\?xml[^>]*>/, '')}`;
    const res = await t.api('POST', '/api/v1/connections', { body: saml({ idp: { metadata_xml: evil } }) });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/DOCTYPE/);
    expect((await t.api('POST', '/api/v1/connections', { body: saml({ idp: { metadata_xml: '<a>' } }) })).status).toBe(400);
  });

  it('creates an OIDC connection whose secret is sealed and never returned', async () => {
    const res = await t.api('POST', '/api/v1/connections', {
      body: { name: 'acme-google', type: 'oidc', domains: ['acme.io'], idp: { issuer: 'https://accounts.google.com', client_id: 'cid', client_secret: 's3cret-value' } },
    });
    expect(res.status).toBe(201);
    expect(res.text).not.toContain('s3cret-value');
    expect(res.body.idp).toEqual({ issuer: 'https://accounts.google.com', client_id: 'cid', scopes: ['openid', 'email', 'profile'], client_secret_set: true });
    expect(res.body.sp).toEqual({ redirect_uri: `${t.url}/sso/oidc/${res.body.id}/callback`, login_url: `${t.url}/sso/oidc/${res.body.id}/login`, jwks_uri: `${t.url}/sso/oidc/${res.body.id}/jwks.json` });
    const stored = await t.container.db('connections').where({ id: res.body.id }).first();
    expect(stored.idp).not.toContain('s3cret-value');
    const got = await t.api('GET', `/api/v1/connections/${res.body.id}`);
    expect(got.text).not.toContain('s3cret');
    const conn = await t.container.connections.require(t.container.db, res.body.id);
    expect(conn.type === 'oidc' && t.container.connections.clientSecret(conn.idp)).toBe('s3cret-value');
    const http = await t.api('POST', '/api/v1/connections', {
      body: { name: 'plain', type: 'oidc', domains: ['plain.io'], idp: { issuer: 'http://idp.example.com', client_id: 'c', client_secret: 's' } },
    });
    expect(http.status).toBe(400);
    expect(http.body.message).toMatch(/idp\.issuer/);
  });

  it('409 domain_already_claimed and organization_already_governed; 400 for unknown organizations', async () => {
    expect((await t.api('POST', '/api/v1/connections', { body: saml({ membership_rules: [{ organization: 'acme', role: 'member' }] }) })).status).toBe(201);
    const dom = await t.api('POST', '/api/v1/connections', { body: saml({ name: 'second', domains: ['ACME.com'] }) });
    expect(dom.status).toBe(409);
    expect(dom.body.errorCode).toBe('domain_already_claimed');
    const gov = await t.api('POST', '/api/v1/connections', { body: saml({ name: 'second', domains: ['b.com'], membership_rules: [{ organization: 'acme', role: 'member' }] }) });
    expect(gov.status).toBe(409);
    expect(gov.body.errorCode).toBe('organization_already_governed');
    const unknown = await t.api('POST', '/api/v1/connections', { body: saml({ name: 'second', domains: ['b.com'], membership_rules: [{ organization: 'nope', role: 'member' }] }) });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/nope/);
    expect((await t.api('POST', '/api/v1/connections', { body: saml({ name: 'second', domains: [] }) })).status).toBe(400);
    expect((await t.api('GET', '/api/v1/connections')).body.connections).toHaveLength(1);
  });

  it('updates, lists with a cursor, releases organizations and deletes', async () => {
    const a = (await t.api('POST', '/api/v1/connections', { body: saml({ membership_rules: [{ organization: 'acme', role: 'member' }] }) })).body;
    await t.api('POST', '/api/v1/connections', { body: saml({ name: 'b', domains: ['b.com'] }) });
    const page = await t.api('GET', '/api/v1/connections?take=1');
    expect(page.body.connections).toHaveLength(1);
    expect((await t.api('GET', `/api/v1/connections?take=1&from=${page.body.next}`)).body.connections[0].name).toBe('b');
    const patched = await t.api('PATCH', `/api/v1/connections/${a.id}`, {
      body: { roles_managed_by: 'admin', allow_idp_initiated: true, membership_rules: [{ organization: 'acme-eng', role: 'owner' }], domains: ['acme.com', 'acme.org'] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ roles_managed_by: 'admin', allow_idp_initiated: true, domains: ['acme.com', 'acme.org'] });
    expect((await t.api('GET', '/api/v1/organizations/acme')).body.sso.enabled).toBe(false);
    expect((await t.api('GET', '/api/v1/organizations/acme-eng')).body.sso.connection_id).toBe(a.id);
    expect((await t.api('PATCH', `/api/v1/connections/${a.id}`, { body: { domains: ['b.com'] } })).body.errorCode).toBe('domain_already_claimed');
    expect((await t.api('DELETE', `/api/v1/connections/${a.id}`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/connections/${a.id}`)).status).toBe(404);
    expect((await t.api('GET', '/api/v1/organizations/acme-eng')).body.sso.enabled).toBe(false);
    const actions = (await t.api('GET', '/api/v1/audit-logs')).body.audit_logs.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['connection.created', 'connection.updated', 'connection.deleted']));
  });

  it('enforces connection scopes', async () => {
    const key = await t.keyWith('read:connections');
    expect((await t.api('GET', '/api/v1/connections', { key })).status).toBe(200);
    const res = await t.api('POST', '/api/v1/connections', { key, body: saml() });
    expect(res.status).toBe(403);
    expect(res.body.errorCode).toBe('insufficient_scope');
  });
});
