import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import knexFactory, { type Knex } from 'knex';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../helpers/db.js';
import { freePort } from '../helpers/process.js';
import { crossInstanceLogin, scimOn, startInstance, type Instance } from '../helpers/multi-instance.js';
import { createOrgs, samlConnection } from '../helpers/sso-setup.js';
import type { SamlTestIdp } from '../helpers/saml-idp.js';

/**
 * Two server processes on one PostgreSQL schema, as behind a load balancer: an IdP writes SCIM to
 * both at once while people sign in through both. Nothing may be lost or duplicated.
 */
const KEY = 'multi-instance-bootstrap-key-0123456789';
const SCIM_LIMIT = 200;
const USERS = 12;

let d: TestDatabase;
let db: Knex;
let a: Instance;
let b: Instance;
let idp: SamlTestIdp;
let connectionId: string;
let orgs: Record<string, string>;
let dir: { id: string; token: string };

const email = (i: number) => `user${i}@acme.com`;
const userBody = (i: number) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: email(i), externalId: `ext-${i}`, name: { givenName: `U${i}`, familyName: 'Test' }, emails: [{ value: email(i), type: 'work', primary: true }], active: true });
const statuses = (rs: Array<{ status: number }>) => rs.map((r) => r.status).sort();

describe.skipIf(!TEST_DATABASE_URL)('two instances on one PostgreSQL database', () => {
  beforeAll(async () => {
    d = await createTestDatabase('postgres');
    db = knexFactory({ client: 'pg', connection: d.url, pool: { min: 0, max: 2 } });
    const portA = await freePort();
    const env = { DATABASE_URL: d.url, ORGSYNC_SECRET: 'shared-secret-for-both-instances-0123', ORGSYNC_BOOTSTRAP_API_KEY: KEY, PUBLIC_URL: `http://127.0.0.1:${portA}`, RATE_LIMIT_SCIM_PER_MINUTE: String(SCIM_LIMIT), LOG_LEVEL: 'warn' };
    // One after the other: the first migrates, the second finds the schema ready.
    a = await startInstance(env, KEY, portA);
    b = await startInstance(env, KEY);
    orgs = await createOrgs(a, 'acme', 'acme-eng');
    const conn = await samlConnection(a, {
      membership_sync: 'scim_and_login',
      membership_rules: [
        { organization: 'acme', role: 'member' },
        { organization: 'acme-eng', role: 'member', groups: ['Engineering'] },
      ],
    });
    idp = conn.idp;
    connectionId = conn.id;
    const created = await a.api('POST', '/api/v1/directories', { body: { connection_id: connectionId, name: 'acme-scim' } });
    expect(created.status).toBe(201);
    dir = { id: created.body.id, token: created.body.token };
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await idp?.stop();
    await db?.destroy();
    await d?.cleanup();
  });

  it('keeps one user per userName and one group per displayName when both instances create at once', async () => {
    const onA = scimOn(a.url, dir.id, dir.token);
    const onB = scimOn(b.url, dir.id, dir.token);
    for (let i = 0; i < USERS; i++) {
      const rs = await Promise.all([onA('POST', '/Users', userBody(i)), onB('POST', '/Users', userBody(i))]);
      expect(statuses(rs), rs.map((r) => r.text).join('\n')).toEqual([201, 409]);
    }
    const groups = await Promise.all([onA('POST', '/Groups', { displayName: 'Engineering' }), onB('POST', '/Groups', { displayName: 'engineering' })]);
    expect(statuses(groups)).toEqual([201, 409]);

    expect(await db('scim_users').where({ directory_id: dir.id }).count({ n: '*' })).toEqual([{ n: String(USERS) }]);
    expect(await db('scim_groups').where({ directory_id: dir.id }).count({ n: '*' })).toEqual([{ n: '1' }]);
    const dupes = await db('users').select('email_lower').count({ n: '*' }).groupBy('email_lower').havingRaw('count(*) > 1');
    expect(dupes).toEqual([]);
  });

  it('applies every concurrent PATCH, member change and sign-in, and ends consistent with the IdP', async () => {
    const onA = scimOn(a.url, dir.id, dir.token);
    const onB = scimOn(b.url, dir.id, dir.token);
    const via = (i: number) => (i % 2 ? onB : onA);
    const users = (await onA('GET', `/Users?count=100`)).body.Resources as Array<{ id: string; userName: string }>;
    const idOf = (i: number) => users.find((u) => u.userName === email(i))!.id;
    const group = (await onA('GET', `/Groups?filter=${encodeURIComponent('displayName eq "Engineering"')}`)).body.Resources[0].id as string;

    // Sixteen PATCHes of one user, each setting a different attribute: a lost update drops one.
    const attrs = ['title', 'nickName', 'displayName', 'profileUrl', 'userType', 'preferredLanguage', 'locale', 'timezone', 'name.middleName', 'name.honorificPrefix', 'name.honorificSuffix', 'name.formatted'];
    const ent = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
    const entAttrs = ['department', 'costCenter', 'organization', 'division'];
    const patch = (path: string, value: string) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path, value }] });
    const patches = [...attrs.map((p) => patch(p, `v-${p}`)), ...entAttrs.map((p) => patch(`${ent}:${p}`, `v-${p}`))].map((body, i) => via(i)('PATCH', `/Users/${idOf(0)}`, body));

    // Every user added to Engineering twice (once through each instance), users 8.. removed again.
    const member = (op: 'add' | 'remove', i: number) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: op === 'add' ? [{ op: 'add', path: 'members', value: [{ value: idOf(i) }] }] : [{ op: 'remove', path: `members[value eq "${idOf(i)}"]` }] });
    const adds = Array.from({ length: USERS }, (_, i) => [onA('PATCH', `/Groups/${group}`, member('add', i)), onB('PATCH', `/Groups/${group}`, member('add', i))]).flat();

    // Sign-ins through both, each person twice at once (start on one instance, ACS on the other),
    // plus people the directory does not know yet (just-in-time accounts) and one racing SCIM create.
    const login = (i: number, from: Instance, to: Instance) => crossInstanceLogin(from.url, to.url, connectionId, idp, { nameId: email(i), email: email(i), groups: [] });
    const logins = [0, 1, 2, 3, 20, 21].flatMap((i) => [login(i, a, b), login(i, b, a)]);
    const racing = [onB('POST', '/Users', userBody(30)), login(30, a, b)];

    const results = await Promise.all([...patches, ...adds, ...logins, ...racing]);
    const raced = results.slice(-2) as [{ status: number; text: string }, Awaited<ReturnType<typeof login>>];
    expect(raced[0].status, raced[0].text).toBe(201);
    expect(raced[1].status, raced[1].me.text).toBe(303);
    for (const r of results.slice(0, patches.length + adds.length)) expect([200, 204], 'text' in r ? r.text : '').toContain(r.status);
    for (const r of results.slice(patches.length + adds.length, -2) as Array<Awaited<ReturnType<typeof login>>>) {
      expect(r.status, r.me.text).toBe(303);
      expect(r.me.status).toBe(200);
    }
    const removals = await Promise.all(Array.from({ length: USERS - 8 }, (_, k) => via(k)('PATCH', `/Groups/${group}`, member('remove', 8 + k))));
    expect(statuses(removals)).toEqual(removals.map(() => 204));

    const patched = (await onA('GET', `/Users/${idOf(0)}`)).body;
    for (const p of attrs) expect(p.split('.').reduce((o, k) => o?.[k], patched), p).toBe(`v-${p}`);
    for (const p of entAttrs) expect(patched[ent]?.[p], p).toBe(`v-${p}`);
    expect(patched.meta.version).toBe(`W/"${1 + attrs.length + entAttrs.length}"`);

    // No duplicate accounts or identities; the SCIM user and the sign-in share one account.
    expect(await db('users').select('email_lower').count({ n: '*' }).groupBy('email_lower').havingRaw('count(*) > 1')).toEqual([]);
    expect(await db('identities').select('subject').count({ n: '*' }).groupBy('subject').havingRaw('count(*) > 1')).toEqual([]);
    const u30 = await db('users').where({ email_lower: email(30) });
    expect(u30).toHaveLength(1);
    expect((await db('scim_users').where({ directory_id: dir.id, user_name_lower: email(30) }).first())?.user_id ?? u30[0].id).toBe(u30[0].id);

    // Memberships match the IdP's final state: Engineering members 0..7 active in acme-eng,
    // 8.. flagged as removed from the group; every signed-in person is in acme.
    const groupMembers = await db('scim_group_members').where({ group_id: group }).pluck('scim_user_id');
    expect(groupMembers.sort()).toEqual(Array.from({ length: 8 }, (_, i) => idOf(i)).sort());
    const eng = await db('memberships as m').join('users as u', 'u.id', 'm.user_id').where({ 'm.organization_id': orgs['acme-eng'] }).select('u.email_lower as email', 'm.status', 'm.flagged_reason');
    const byEmail = new Map(eng.map((m) => [m.email as string, m]));
    for (let i = 0; i < USERS; i++) {
      if (i < 8) expect(byEmail.get(email(i)), email(i)).toMatchObject({ status: 'active' });
      else expect(byEmail.get(email(i)), email(i)).toMatchObject({ status: 'flagged', flagged_reason: 'idp_group_removed' });
    }
    for (const e of [20, 21, 30]) expect(byEmail.has(email(e))).toBe(false);
    const acme = await db('memberships as m').join('users as u', 'u.id', 'm.user_id').where({ 'm.organization_id': orgs.acme, 'm.status': 'active' }).pluck('u.email_lower');
    for (const i of [0, 1, 2, 3, 20, 21, 30]) expect(acme).toContain(email(i));
    const dupMemberships = await db('memberships').select('organization_id', 'user_id').count({ n: '*' }).groupBy('organization_id', 'user_id').havingRaw('count(*) > 1');
    expect(dupMemberships).toEqual([]);
  });

  it('shares the SCIM rate limit: the limit is reached across both instances together', async () => {
    const conn2 = await a.api('POST', '/api/v1/connections', { body: { name: 'other-saml', type: 'saml', domains: ['other.example'], idp: { metadata_xml: idp.metadataXml() } } });
    expect(conn2.status, conn2.text).toBe(201);
    const created = await a.api('POST', '/api/v1/directories', { body: { connection_id: conn2.body.id, name: 'other-scim' } });
    const [onA, onB] = [scimOn(a.url, created.body.id, created.body.token), scimOn(b.url, created.body.id, created.body.token)];
    // Stay inside one minute window so the count is not reset halfway.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 45_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
    let ok = 0;
    let limited = 0;
    for (let i = 0; i < SCIM_LIMIT + 40; i++) {
      const r = await (i % 2 ? onB : onA)('GET', '/Users?count=1');
      if (r.status === 200) ok++;
      else if (r.status === 429) {
        limited++;
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      } else throw new Error(`unexpected ${r.status}: ${r.text}`);
    }
    expect(ok).toBe(SCIM_LIMIT);
    expect(limited).toBe(40);
  });
});
