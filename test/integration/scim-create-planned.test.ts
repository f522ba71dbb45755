/**
 * A SCIM create may plan its account on what the connection's last create read (on PostgreSQL it
 * then goes to the database in one message: scim/linking.ts, guessNewAccount). That plan must never
 * decide differently from the linking rule (SPEC §2) read fresh: each case here changes, between two
 * creates and behind this process's back (as another instance, a sign-in or an admin would), one fact
 * the plan assumed, and checks that the next create decides as if nothing had been assumed. Runs on
 * both databases: on SQLite nothing is assumed and the answers must be the same.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Builder } from '../helpers/builders.js';
import { createScimDirectory, insertConnection, type ScimClient } from '../helpers/scim-builders.js';

let t: TestApp;
let s: ScimClient;

beforeEach(async () => {
  t = await startTestApp({ env: { RATE_LIMIT_SCIM_PER_MINUTE: '0' } });
  s = await createScimDirectory(t, { domains: ['acme.test'] });
  // Two creates of new people: the connection's next create is planned on what they read.
  for (const name of ['first', 'second']) expect((await create(name)).status).toBe(201);
});
afterEach(async () => {
  await t.close();
});

const create = (local: string, domain = 'acme.test', extra: Record<string, unknown> = {}) =>
  s.req('POST', '/Users', { body: { userName: `${local}@${domain}`, externalId: `ext-${local}`, emails: [{ value: `${local}@${domain}`, primary: true }], ...extra } });

const accountOf = async (scimUserId: string) => {
  const row = await t.container.db('scim_users').where({ id: scimUserId }).first('user_id');
  return t.container.db('users').where({ id: row.user_id }).first('id', 'email_lower', 'bound_connection_id');
};

async function insertAccount(email: string, boundConnectionId: string | null = null): Promise<string> {
  const id = randomUUID();
  const now = new Date().toISOString();
  await t.container.db('users').insert({ id, email, email_lower: email.toLowerCase(), name: 'Existing', active: true, created_at: now, updated_at: now, bound_connection_id: boundConnectionId });
  return id;
}

describe('a SCIM create planned on what the last create read', () => {
  it('links to the identity a sign-in created meanwhile (same externalId)', async () => {
    const accountId = await insertAccount('someone@elsewhere.test');
    await t.container.db('identities').insert({ id: randomUUID(), user_id: accountId, connection_id: s.connectionId, subject: 'carol-subject', external_id: 'ext-carol', created_at: new Date().toISOString(), last_login_at: null });
    const res = await create('carol');
    expect(res.status).toBe(201);
    expect((await accountOf(res.body.id)).id).toBe(accountId);
    expect(await t.container.db('users').where({ email_lower: 'carol@acme.test' })).toHaveLength(0);
  });

  it('links to an account with a verified email committed meanwhile, and never to another tenant\'s claim', async () => {
    const unbound = await insertAccount('dave@acme.test');
    const res = await create('dave');
    expect(res.status).toBe(201);
    expect((await accountOf(res.body.id)).id).toBe(unbound);

    // Another connection's claim on the same kind of address: not linkable, so a new account.
    const other = await insertConnection(t.container.db);
    const claimed = await insertAccount('erin@acme.test', other);
    const res2 = await create('erin');
    expect(res2.status).toBe(201);
    const account = await accountOf(res2.body.id);
    expect(account.id).not.toBe(claimed);
    expect(account.bound_connection_id).toBeNull();
    expect(await t.container.db('users').where({ id: claimed }).first('email_lower', 'bound_connection_id')).toEqual({ email_lower: 'erin@acme.test', bound_connection_id: other });
  });

  it('binds the new account to the connection when its domain was unverified meanwhile, and not when one was verified', async () => {
    await t.container.db('connection_domains').where({ connection_id: s.connectionId, domain: 'acme.test' }).delete();
    const res = await create('frank');
    expect(res.status).toBe(201);
    expect((await accountOf(res.body.id)).bound_connection_id).toBe(s.connectionId);

    // other.test: unverified when the last create read it, verified since.
    expect((await create('gina', 'other.test')).status).toBe(201);
    await t.container.db('connection_domains').insert({ connection_id: s.connectionId, domain: 'other.test' });
    const res2 = await create('hank', 'other.test');
    expect(res2.status).toBe(201);
    expect((await accountOf(res2.body.id)).bound_connection_id).toBeNull();
  });

  it('applies the rules at once when the connection switched to scim_and_login meanwhile', async () => {
    const b = new Builder(t.container.db);
    const org = await b.organization({ name: 'eng', connection_id: s.connectionId });
    await b.rule({ connection_id: s.connectionId, organization_id: org.id, groups: null, role: 'member' });
    const before = await create('ivan');
    expect(await t.container.db('memberships').where({ organization_id: org.id, user_id: (await accountOf(before.body.id)).id })).toHaveLength(0);
    await t.container.db('connections').where({ id: s.connectionId }).update({ membership_sync: 'scim_and_login' });
    const res = await create('judy');
    expect(res.status).toBe(201);
    expect(await t.container.db('memberships').where({ organization_id: org.id, user_id: (await accountOf(res.body.id)).id }).first('status')).toEqual({ status: 'active' });
  });

  it('answers a taken userName with 409 and writes nothing, after creates of new people', async () => {
    const users = await t.container.db('users').count({ n: '*' });
    const audit = await t.container.db('audit_events').count({ n: '*' });
    const res = await create('first');
    expect(res.status).toBe(409);
    expect(res.body.scimType).toBe('uniqueness');
    expect(await t.container.db('users').count({ n: '*' })).toEqual(users);
    expect(await t.container.db('audit_events').count({ n: '*' })).toEqual(audit);
  });
});
