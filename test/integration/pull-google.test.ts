import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Builder } from '../helpers/builders.js';
import { FakeGoogle } from '../helpers/fake-google.js';
import { PullRunner, defaultRunnerOptions } from '../../src/modules/pull-directories/runner.js';
import type { ManualClock } from '../../src/platform/clock.js';

let t: TestApp;
let b: Builder;
let google: FakeGoogle;
beforeEach(async () => {
  t = await startTestApp();
  b = new Builder(t.container.db);
  google = await new FakeGoogle().start();
});
afterEach(async () => {
  await google.close();
  await t.close();
});

const fast = { ...defaultRunnerOptions, http: { ...defaultRunnerOptions.http, sleep: async () => {}, timeoutMs: 2000 } };
const run = (r = new PullRunner(t.container, 'test-instance', fast)) => (id: string) => r.run(id, 'schedule');

const membership = (orgId: string, userId: string) =>
  t.container.db('memberships').where({ organization_id: orgId, user_id: userId }).first<{ status: string; flagged_reason: string | null; flag_evidence: string | null }>('status', 'flagged_reason', 'flag_evidence');

/** Acme on Google: eng is granted by the group eng@acme.com (its email), all-hands by a group id. */
async function world() {
  const conn = await b.connection({ name: 'acme-google', type: 'oidc', domains: ['acme.com'] });
  const eng = await b.organization({ name: 'eng', connection_id: conn.id });
  const all = await b.organization({ name: 'all-hands', connection_id: conn.id });
  await b.rule({ connection_id: conn.id, organization_id: eng.id, groups: ['eng@acme.com'] });
  await b.rule({ connection_id: conn.id, organization_id: all.id, groups: ['gid-all'] });
  const ada = await b.user({ email: 'ada@acme.com' });
  const bob = await b.user({ email: 'bob@acme.com' });
  const cy = await b.user({ email: 'cy@acme.com' });
  for (const u of [ada, bob, cy]) for (const org of [eng, all]) await b.membership({ organization_id: org.id, user_id: u.id });
  google.addUser('g-ada', 'Ada');
  google.addUser('g-bob', 'Bob');
  google.addUser('g-cy', 'Cy');
  google.addGroup('gid-eng', 'eng@acme.com', ['g-ada', 'g-bob', 'g-cy']);
  google.addGroup('gid-all', 'all@acme.com', ['g-ada', 'g-bob', 'g-cy']);
  google.addGroup('gid-social', 'social@acme.com', ['g-ada']);
  const created = await t.api('POST', '/api/v1/directories', {
    body: { connection_id: conn.id, kind: 'google_workspace', google_workspace: { service_account_key: google.serviceAccountKey, admin_email: 'admin@acme.com', api_base_url: google.apiBase, token_url: google.tokenUrl } },
  });
  expect(created.status).toBe(201);
  return { conn, eng, all, ada, bob, cy, dir: created.body as { id: string } };
}

describe('Google Workspace directory', () => {
  it('a full pass signs a delegated service-account assertion, links users, stores groups by email with their members; the key is never returned', async () => {
    const w = await world();
    expect(w.dir).toMatchObject({ kind: 'google_workspace', scim_base_url: null, settings: { google_workspace: { client_email: google.clientEmail, admin_email: 'admin@acme.com', service_account_key_set: true } } });
    expect(JSON.stringify(w.dir)).not.toContain('PRIVATE KEY');
    const sealed = (await t.container.db('directories').where({ id: w.dir.id }).first()).pull_secret_sealed as string;
    expect(sealed).not.toContain('PRIVATE KEY');

    const outcome = await run()(w.dir.id);
    expect(outcome).toMatchObject({ kind: 'succeeded', counts: { full_passes: 1, created: 3, users_seen: 3, groups_seen: 3, members_added: 7 } });
    // The assertion goes to the configured token URL (never the key file's token_uri), as the admin, read-only scopes.
    expect(google.assertions[0]).toMatchObject({ iss: google.clientEmail, sub: 'admin@acme.com', aud: google.tokenUrl });
    expect(String(google.assertions[0]!.scope).split(' ')).toEqual([
      'https://www.googleapis.com/auth/admin.directory.user.readonly',
      'https://www.googleapis.com/auth/admin.directory.group.readonly',
      'https://www.googleapis.com/auth/admin.directory.group.member.readonly',
    ]);
    const linked = await t.container.db('scim_users').where({ directory_id: w.dir.id }).orderBy('user_name').pluck('user_id');
    expect(linked).toEqual([w.ada.id, w.bob.id, w.cy.id]);
    expect(await t.container.db('scim_groups').where({ directory_id: w.dir.id }).orderBy('display_name').pluck('display_name')).toEqual(['all@acme.com', 'eng@acme.com', 'social@acme.com']);
    expect(google.requests.some((r) => r.path.includes('showDeleted=true'))).toBe(true);
  });

  it('light runs between full passes flag suspensions, deletions and group removals at a few requests; the hourly full pass adds and restores', async () => {
    const w = await world();
    const clock = t.clock as ManualClock;
    await run()(w.dir.id);
    clock.advance(300_000);

    google.users.get('g-ada')!.suspended = true;
    google.deleteUser('g-bob');
    google.groups.get('gid-eng')!.members.delete('g-cy');
    google.addUser('g-dee', 'Dee');
    const before = google.requests.length;
    const light = await run()(w.dir.id);
    expect(light).toMatchObject({ kind: 'succeeded', counts: { light_runs: 1, deactivated: 1, deleted: 1, members_removed: 1 } });
    // token + suspended users + deleted users + the two rule groups' member lists.
    expect(google.requests.length - before).toBe(5);
    expect(google.requests.slice(before).some((r) => r.path.includes('gid-social'))).toBe(false);
    expect(await membership(w.eng.id, w.ada.id)).toMatchObject({ status: 'flagged', flagged_reason: 'idp_deactivated' });
    expect(JSON.parse((await membership(w.eng.id, w.ada.id))!.flag_evidence!)).toMatchObject({ channel: 'scim', action: 'Google Workspace user suspended' });
    expect(await membership(w.all.id, w.bob.id)).toMatchObject({ status: 'flagged', flagged_reason: 'idp_deleted' });
    expect(await membership(w.eng.id, w.cy.id)).toMatchObject({ status: 'flagged', flagged_reason: 'idp_group_removed' });
    expect(await membership(w.all.id, w.cy.id)).toMatchObject({ status: 'active' });
    expect(await t.container.db('scim_users').where({ directory_id: w.dir.id, external_id: 'g-dee' })).toHaveLength(0);

    google.users.get('g-ada')!.suspended = false;
    clock.advance(3_600_000);
    expect(await run()(w.dir.id)).toMatchObject({ kind: 'succeeded', counts: { full_passes: 1, created: 1, reactivated: 1 } });
    expect(await membership(w.eng.id, w.ada.id)).toMatchObject({ status: 'active' });
    expect(await t.container.db('scim_users').where({ directory_id: w.dir.id, external_id: 'g-dee' })).toHaveLength(1);
  });

  it('403 rateLimitExceeded is waited out; a fault mid-pass removes nothing and the pass resumes; an empty listing never deletes everyone', async () => {
    const w = await world();
    const slept: number[] = [];
    const r = new PullRunner(t.container, 'test-instance', { ...fast, http: { ...fast.http, sleep: async (ms) => void slept.push(ms) } });
    google.fail('/admin/directory/v1/users', 403, { body: { error: { code: 403, message: 'Quota exceeded', errors: [{ reason: 'rateLimitExceeded', domain: 'usageLimits' }] } } });
    expect(await r.run(w.dir.id, 'schedule')).toMatchObject({ kind: 'succeeded' });
    expect(slept.length).toBeGreaterThan(0);

    // Next full pass: Cy is gone from Google, and page two of users.list fails for good.
    (t.clock as ManualClock).advance(3_700_000);
    google.users.delete('g-cy');
    google.pageSize = 1;
    let served = 0;
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.includes('/users?') && !url.includes('showDeleted') && ++served > 1) return new Response('{"error":{"code":503,"message":"Backend Error","errors":[{"reason":"backendError"}]}}', { status: 503 });
      return realFetch(input, init);
    }) as typeof fetch;
    let failed;
    try {
      failed = await r.run(w.dir.id, 'schedule');
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(failed).toMatchObject({ kind: 'failed', error: expect.stringContaining('HTTP 503') });
    expect(await membership(w.eng.id, w.cy.id)).toMatchObject({ status: 'active' });
    expect(await t.container.db('scim_users').where({ directory_id: w.dir.id })).toHaveLength(3);
    const resumed = await r.run(w.dir.id, 'schedule');
    expect(resumed).toMatchObject({ kind: 'succeeded', counts: { deleted: 1 } });
    expect(await membership(w.eng.id, w.cy.id)).toMatchObject({ status: 'flagged', flagged_reason: 'idp_deleted' });

    // A complete answer with no users (a wrong customer or lost delegation) deletes nobody.
    (t.clock as ManualClock).advance(3_700_000);
    google.users.clear();
    const empty = await r.run(w.dir.id, 'schedule');
    expect(empty).toMatchObject({ kind: 'failed', error: expect.stringContaining('listed no users') });
    expect(await membership(w.eng.id, w.ada.id)).toMatchObject({ status: 'active' });
  });
});
