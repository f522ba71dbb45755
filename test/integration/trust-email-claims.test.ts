import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, samlConnection, samlLogin } from '../helpers/sso-setup.js';
import { scimClient, type ScimCall } from '../helpers/scim-client.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';

/**
 * SPEC §2 trust between connections, as customer B's IdP admin would attack customer A: B holds its
 * own SCIM token and its own SAML signing key, and tries to reach accounts in A's verified domain.
 * An email is a claim: B may provision and sign in people of other domains, bound to B alone.
 */
interface Tenant {
  conn: { idp: SamlTestIdp; id: string };
  scim: ScimCall;
}

let t: TestApp;
let A: Tenant;
let B: Tenant;

async function tenant(name: string, domain: string, org: string, role: string): Promise<Tenant> {
  const conn = await samlConnection(t, { name, domains: [domain], membership_rules: [{ organization: org, role }] });
  const dir = (await t.api('POST', '/api/v1/directories', { body: { connection_id: conn.id, name: `${name} directory` } })).body;
  return { conn, scim: scimClient(dir) };
}

const scimUser = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName,
  emails: [{ value: userName, primary: true, type: 'work' }],
  name: { givenName: 'Vic', familyName: 'Tim' },
  active: true,
  ...extra,
});

const accountOf = async (scimUserId: string) => (await t.container.db('scim_users').where({ id: scimUserId }).first()).user_id as string;

beforeAll(async () => {
  t = await startTestApp();
  await createOrgs(t, 'a-corp', 'b-corp');
  A = await tenant('a-idp', 'a.example', 'a-corp', 'owner');
  B = await tenant('b-idp', 'b.example', 'b-corp', 'member');
});
afterAll(async () => {
  await A.conn.idp.stop();
  await B.conn.idp.stop();
  await t.close();
});

describe("B's IdP never reaches A's accounts through emails in A's domain", () => {
  it("an account B's SCIM creates for an A-domain email is B's alone: A's SCIM, A's login and B's login stay apart", async () => {
    const planted = await B.scim('POST', '/Users', scimUser('victim@a.example'));
    expect(planted.status).toBe(201);
    const bAccount = await accountOf(planted.body.id);
    const bView = (await t.api('GET', `/api/v1/users/${bAccount}`)).body;
    expect(bView).toMatchObject({ email: 'victim@a.example', email_verified: false, bound_connection_id: B.conn.id });

    // A provisions the real person: a different account, with a verified email.
    const real = await A.scim('POST', '/Users', scimUser('victim@a.example'));
    expect(real.status).toBe(201);
    const aAccount = await accountOf(real.body.id);
    expect(aAccount).not.toBe(bAccount);
    expect((await t.api('GET', `/api/v1/users/${aAccount}`)).body).toMatchObject({ email_verified: true, bound_connection_id: null });

    // A's sign-in lands on A's account as owner of a-corp.
    const a = await samlLogin(t, A.conn, { nameId: 'victim-a', email: 'victim@a.example', groups: [] });
    expect(a.me.user.id).toBe(aAccount);
    expect(a.me.organizations.map((o: { name: string }) => o.name)).toEqual(['a-corp']);

    // B signs its own user in with the same email: B's bound account, never A's organizations.
    const b = await samlLogin(t, B.conn, { nameId: 'victim-b', email: 'victim@a.example', groups: [] });
    expect(b.meStatus).toBe(200);
    expect(b.me.user.id).toBe(bAccount);
    expect(b.me.organizations.map((o: { name: string }) => o.name)).toEqual(['b-corp']);

    // A's session is untouched by anything B did; its account still has exactly A's identity.
    expect((await a.browser.request('GET', `${t.url}/api/v1/me`)).status).toBe(200);
    const identities = await t.container.db('identities').where({ user_id: aAccount }).pluck('connection_id');
    expect(identities).toEqual([A.conn.id]);
  });

  it("B cannot sign in an A-domain email that B's own directory never provisioned", async () => {
    const res = await samlLogin(t, B.conn, { nameId: 'intruder', email: 'ceo@a.example', groups: [] });
    expect(res.meStatus).toBe(401);
    expect(res.page.text).toContain('email_domain_not_verified');
    expect(await t.container.db('users').where({ email_lower: 'ceo@a.example' })).toHaveLength(0);
  });

  it("B's SCIM cannot move one of its accounts' email into A's domain, so A never links to it", async () => {
    const bob = await B.scim('POST', '/Users', scimUser('bob@b.example'));
    const bobAccount = await accountOf(bob.body.id);
    const patched = await B.scim('PATCH', `/Users/${bob.body.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'emails', value: [{ value: 'cfo@a.example', primary: true, type: 'work' }] }],
    });
    expect(patched.status).toBe(200);
    expect((await t.container.db('users').where({ id: bobAccount }).first()).email).toBe('bob@b.example');

    const cfo = await A.scim('POST', '/Users', scimUser('cfo@a.example'));
    expect(await accountOf(cfo.body.id)).not.toBe(bobAccount);
    const login = await samlLogin(t, A.conn, { nameId: 'cfo-a', email: 'cfo@a.example', groups: [] });
    expect(login.me.user.id).toBe(await accountOf(cfo.body.id));
  });

  it("B's deactivation and deletion of its copy never deactivate, rename or sign out A's person", async () => {
    const planted = await B.scim('POST', '/Users', scimUser('dana@a.example'));
    const real = await A.scim('POST', '/Users', scimUser('dana@a.example', { name: { givenName: 'Dana', familyName: 'Real' } }));
    const aAccount = await accountOf(real.body.id);
    const a = await samlLogin(t, A.conn, { nameId: 'dana-a', email: 'dana@a.example', groups: [] });
    expect(a.me.user.id).toBe(aAccount);

    const off = await B.scim('PATCH', `/Users/${planted.body.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', value: { active: false, 'name.givenName': 'Mallory' } }],
    });
    expect(off.status).toBe(200);
    expect((await B.scim('DELETE', `/Users/${planted.body.id}`)).status).toBe(204);

    const account = await t.container.db('users').where({ id: aAccount }).first();
    expect(Boolean(account.active)).toBe(true);
    expect(account.given_name).toBe('Dana');
    expect((await a.browser.request('GET', `${t.url}/api/v1/me`)).status).toBe(200);
    const members = (await t.api('GET', '/api/v1/organizations/a-corp/members?status=all')).body.members as Array<{ user_id: string; status: string }>;
    expect(members.find((m) => m.user_id === aAccount)?.status).toBe('active');
  });

  it("an A-domain email that only B's directory provisioned signs in through B, bound to B", async () => {
    const contractor = await B.scim('POST', '/Users', scimUser('temp@a.example'));
    const bAccount = await accountOf(contractor.body.id);
    const login = await samlLogin(t, B.conn, { nameId: 'temp-b', email: 'temp@a.example', groups: [] });
    expect(login.me.user.id).toBe(bAccount);
    // A's first sign-in of the same address makes A's own account; B's stays B's.
    const a = await samlLogin(t, A.conn, { nameId: 'temp-a', email: 'temp@a.example', groups: [] });
    expect(a.me.user.id).not.toBe(bAccount);
    expect((await t.container.db('users').where({ id: bAccount }).first()).bound_connection_id).toBe(B.conn.id);
  });
});
