import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { SamlTestIdp, sign } from '../helpers/saml-idp.js';
import { Browser } from '../helpers/sso-browser.js';
import { createOrgs, postSamlResponse, startSamlLogin } from '../helpers/sso-setup.js';

/**
 * A transient NameID changes at every sign-in (SimpleSAMLphp's default, ADFS and Shibboleth often
 * send one). Keyed on it, every sign-in made a new identity. It is bound on a persistent value
 * instead: the attribute named as the subject, else the email in the connection's verified domains;
 * without either the sign-in is refused with what the IT admin can change.
 */
const template = readFileSync(new URL('../../fixtures/saml/responses/transient-nameid.template.xml', import.meta.url), 'utf8');

describe('SAML transient NameID', () => {
  let t: TestApp;
  const idps: SamlTestIdp[] = [];

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    for (const idp of idps) await idp.stop();
    await t?.close();
  });

  async function connection(name: string, domain: string, org: string, extra: Record<string, unknown> = {}) {
    await createOrgs(t, org);
    const idp = new SamlTestIdp();
    await idp.start();
    idps.push(idp);
    const res = await t.api('POST', '/api/v1/connections', {
      body: { name, type: 'saml', domains: [domain], idp: { metadata_xml: idp.metadataXml() }, membership_rules: [{ organization: org, role: 'member' }], ...extra },
    });
    expect(res.status, res.text).toBe(201);
    return { idp, id: res.body.id as string, acsUrl: res.body.sp.acs_url as string, spEntityId: res.body.sp.entity_id as string };
  }

  /** One sign-in whose assertion carries a fresh transient NameID, as such an IdP sends it. */
  async function signIn(conn: Awaited<ReturnType<typeof connection>>, email: string, employeeNumber = '') {
    const browser = new Browser();
    const { requestId } = await startSamlLogin(t, conn.id, browser);
    const nameId = `_${randomUUID().replace(/-/g, '')}`;
    const { xml } = conn.idp.fill(template, { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId, user: { nameId, email }, overrides: { EMPLOYEE_NUMBER: employeeNumber } });
    const { final } = await postSamlResponse(browser, conn.acsUrl, Buffer.from(sign(xml, 'response', 'idp-test-only')).toString('base64'));
    const me = await browser.request('GET', `${t.url}/api/v1/me`);
    return { final, nameId, me: me.status === 200 ? JSON.parse(me.text) : null };
  }

  it('binds on the email in a verified domain: two sign-ins with different transient NameIDs are one identity and one account', async () => {
    const conn = await connection('acme-transient', 'acme.com', 'acme');
    const first = await signIn(conn, 'Alice@acme.com');
    const second = await signIn(conn, 'alice@acme.com');
    expect(first.nameId).not.toBe(second.nameId);
    expect(first.me.user.id).toBe(second.me.user.id);
    expect(second.me.organizations.map((o: { name: string }) => o.name)).toEqual(['acme']);
    const identities = await t.container.db('identities').where({ connection_id: conn.id });
    expect(identities.map((i: { subject: string }) => i.subject)).toEqual(['alice@acme.com']);
    expect(await t.container.db('users').where({ email_lower: 'alice@acme.com' })).toHaveLength(1);
  });

  it('binds on the configured subject attribute when the connection names one', async () => {
    const conn = await connection('acme-transient-attr', 'acme-attr.com', 'acme-attr', { attribute_mapping: { subject: 'employeeNumber' } });
    const first = await signIn(conn, 'bob@acme-attr.com', 'e-1001');
    // The person's address changed at the IdP; the employee number did not.
    const second = await signIn(conn, 'robert@acme-attr.com', 'e-1001');
    expect(second.me.user.id).toBe(first.me.user.id);
    expect((await t.container.db('identities').where({ connection_id: conn.id })).map((i: { subject: string }) => i.subject)).toEqual(['e-1001']);

    const missing = await signIn(conn, 'bob@acme-attr.com', '');
    expect(missing.final.status).toBe(400);
    expect(missing.final.text).toContain('subject_not_persistent');
    expect(missing.final.text).toContain('one-time (transient) name');
    expect(missing.final.text).toContain('For your IT admin');
    expect(missing.final.text).toContain('attribute_mapping.subject');
  });

  it('refuses a transient NameID with nothing persistent beside it, saying what the IT admin can change', async () => {
    const conn = await connection('acme-transient-bare', 'acme-bare.com', 'acme-bare');
    const before = await t.container.db('identities').where({ connection_id: conn.id });
    const res = await signIn(conn, '');
    expect(res.final.status).toBe(400);
    expect(res.final.text).toContain('subject_not_persistent');
    expect(res.final.text).toContain('persistent NameID');
    expect(res.final.text).not.toContain(res.nameId);
    expect(res.me).toBeNull();
    expect(await t.container.db('identities').where({ connection_id: conn.id })).toEqual(before);
    const denied = await t.container.db('audit_events').where({ action: 'login.denied', actor_id: conn.id });
    expect(denied).toHaveLength(1);
    expect(JSON.parse(denied[0].detail)).toMatchObject({ reason: 'subject_not_persistent', protocol: 'saml', why: expect.stringContaining('transient NameID') });
  });

  it("another tenant's IdP: a transient NameID with an email outside its domains does not reach an account of the domain's owner", async () => {
    const acme = await connection('acme-owner', 'acme-owned.com', 'acme-owned');
    const victim = await signIn(acme, 'carol@acme-owned.com');
    expect(victim.me.user.email).toBe('carol@acme-owned.com');
    const globex = await connection('globex-attacker', 'globex.com', 'globex');
    const attack = await signIn(globex, 'carol@acme-owned.com');
    expect(attack.final.status).toBe(400);
    expect(attack.final.text).toContain('subject_not_persistent');
    expect(attack.me).toBeNull();
    expect(await t.container.db('identities').where({ connection_id: globex.id })).toEqual([]);
    // With a subject attribute the login is bound to that attribute, and the foreign email still links to nobody.
    await t.api('PATCH', `/api/v1/connections/${globex.id}`, { body: { attribute_mapping: { subject: 'employeeNumber' } } });
    const again = await signIn(globex, 'carol@acme-owned.com', 'e-7');
    expect(again.final.status).toBe(403);
    expect(again.final.text).toContain('email_domain_not_verified');
    expect(await t.container.db('identities').where({ user_id: victim.me.user.id }).pluck('connection_id')).toEqual([acme.id]);
    expect(await t.container.db('memberships').where({ user_id: victim.me.user.id }).pluck('organization_id')).toHaveLength(1);
  });
});
