import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Builder } from '../helpers/builders.js';
import { FakeGraph, type GraphUser } from '../helpers/fake-graph.js';
import { PullRunner, defaultRunnerOptions } from '../../src/modules/pull-directories/runner.js';
import { PullScheduler } from '../../src/modules/pull-directories/scheduler.js';
import type { ManualClock } from '../../src/platform/clock.js';

let t: TestApp;
let b: Builder;
let graph: FakeGraph;
beforeEach(async () => {
  t = await startTestApp();
  b = new Builder(t.container.db);
  graph = await new FakeGraph().start();
});
afterEach(async () => {
  await graph.close();
  await t.close();
});

const gUser = (id: string, name: string, enabled = true): GraphUser => ({
  id,
  displayName: name,
  givenName: name,
  surname: 'Test',
  userPrincipalName: `${name.toLowerCase()}@acme.com`,
  mail: `${name.toLowerCase()}@acme.com`,
  accountEnabled: enabled,
});

/** Acme's world: an Entra connection governing eng (group "Engineering") and all-hands (group by object id). */
async function world() {
  const conn = await b.connection({ name: 'acme-entra', domains: ['acme.com'] });
  const eng = await b.organization({ name: 'eng', connection_id: conn.id });
  const all = await b.organization({ name: 'all-hands', connection_id: conn.id });
  await b.rule({ connection_id: conn.id, organization_id: eng.id, groups: ['Engineering'] });
  await b.rule({ connection_id: conn.id, organization_id: all.id, groups: ['0f1e-all-staff'] });
  const ada = await b.user({ email: 'ada@acme.com' });
  const bob = await b.user({ email: 'bob@acme.com' });
  const cy = await b.user({ email: 'cy@acme.com' });
  for (const u of [ada, bob, cy]) for (const org of [eng, all]) await b.membership({ organization_id: org.id, user_id: u.id });
  graph.addUser(gUser('u-ada', 'Ada'));
  graph.addUser(gUser('u-bob', 'Bob'));
  graph.addUser(gUser('u-cy', 'Cy'));
  graph.addGroup('g-eng', 'Engineering', ['u-ada', 'u-bob', 'u-cy']);
  graph.addGroup('0f1e-all-staff', 'All staff', ['u-ada', 'u-bob', 'u-cy']);
  const created = await t.api('POST', '/api/v1/directories', {
    body: { connection_id: conn.id, kind: 'microsoft_graph', microsoft_graph: { tenant_id: 'tenant-1', client_id: 'app-1', client_secret: 'graph-secret', api_base_url: graph.apiBase, token_url: graph.tokenUrl } },
  });
  expect(created.status).toBe(201);
  return { conn, eng, all, ada, bob, cy, dir: created.body as { id: string } };
}

const fast = { ...defaultRunnerOptions, http: { ...defaultRunnerOptions.http, sleep: async () => {}, timeoutMs: 2000 } };
const runner = () => new PullRunner(t.container, 'test-instance', fast);

const membership = (orgId: string, userId: string) =>
  t.container.db('memberships').where({ organization_id: orgId, user_id: userId }).first<{ status: string; flagged_reason: string | null; flag_evidence: string | null }>('status', 'flagged_reason', 'flag_evidence');

/** Waits for the directory's current run to end (the API starts runs in the background). */
async function settled(dirId: string) {
  for (let i = 0; i < 200; i++) {
    const d = await t.api('GET', `/api/v1/directories/${dirId}`);
    if (d.body.sync.state !== 'running' && d.body.sync.last_run?.status !== 'running') return d.body;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('run did not end');
}

describe('Microsoft Graph directory', () => {
  it('first sync over the API links pulled users to accounts, stores groups, and shows status; the secret is never returned', async () => {
    const w = await world();
    expect(w.dir).toMatchObject({ kind: 'microsoft_graph', scim_base_url: null, tokens: [], settings: { microsoft_graph: { tenant_id: 'tenant-1', client_secret_set: true }, sync_interval_seconds: 300 } });
    expect(JSON.stringify(w.dir)).not.toContain('graph-secret');
    expect((await t.container.db('directories').where({ id: w.dir.id }).first()).pull_secret_sealed).not.toContain('graph-secret');

    const sync = await t.api('POST', `/api/v1/directories/${w.dir.id}/sync`);
    expect(sync.status).toBe(202);
    const dir = await settled(w.dir.id);
    expect(dir).toMatchObject({ users: 3, groups: 2, sync: { state: 'idle', last_error: null, failures: 0, last_run: { status: 'succeeded', trigger: 'manual', counts: { created: 3, users_seen: 3, groups_seen: 2 } } } });
    // Scheduled about five minutes on (±10% jitter).
    const next = Date.parse(dir.sync.next_run_at) - Date.parse(dir.sync.last_success_at);
    expect(next).toBeGreaterThanOrEqual(270_000);
    expect(next).toBeLessThanOrEqual(330_000);
    // Client credentials with the scope of the configured Graph host; $select includes accountEnabled.
    expect(graph.tokenRequests[0]!.get('scope')).toBe(`${graph.url}/.default`);
    expect(graph.requests.find((r) => r.path.startsWith('/v1.0/users/delta'))!.path).toContain('accountEnabled');
    const linked = await t.container.db('scim_users').where({ directory_id: w.dir.id }).orderBy('user_name').select('user_id', 'external_id');
    expect(linked).toEqual([
      { user_id: w.ada.id, external_id: 'u-ada' },
      { user_id: w.bob.id, external_id: 'u-bob' },
      { user_id: w.cy.id, external_id: 'u-cy' },
    ]);
    const audit = await t.api('GET', `/api/v1/audit-logs?action=user.provisioned&user=${w.ada.id}`);
    expect(audit.body.audit_logs[0].actor).toEqual({ type: 'scim', id: w.dir.id });
    const runs = await t.api('GET', `/api/v1/directories/${w.dir.id}/sync-runs`);
    expect(runs.body.sync_runs).toHaveLength(1);
  });

  it('delta rounds flag suspensions, deletions and lost group grants, restore re-enabled users, and a quiet round costs three requests', async () => {
    const w = await world();
    expect(await runner().run(w.dir.id, 'schedule')).toMatchObject({ kind: 'succeeded' });
    await b.session(w.ada.id);

    graph.updateUser('u-ada', { accountEnabled: false });
    graph.deleteUser('u-bob');
    graph.removeMembers('g-eng', ['u-cy']);
    const round = await runner().run(w.dir.id, 'schedule');
    expect(round).toMatchObject({ kind: 'succeeded', counts: { deactivated: 1, deleted: 1, members_removed: 1 } });

    const ada = await membership(w.eng.id, w.ada.id);
    expect(ada).toMatchObject({ status: 'flagged', flagged_reason: 'idp_deactivated' });
    expect(JSON.parse(ada!.flag_evidence!)).toMatchObject({ channel: 'scim', action: 'Microsoft Graph user suspended', directory_id: w.dir.id });
    expect(await t.container.db('sessions').where({ user_id: w.ada.id })).toHaveLength(0);
    expect(await membership(w.all.id, w.bob.id)).toMatchObject({ status: 'flagged', flagged_reason: 'idp_deleted' });
    expect(await t.container.db('users').where({ id: w.bob.id }).first()).toBeTruthy();
    expect(await membership(w.eng.id, w.cy.id)).toMatchObject({ status: 'flagged', flagged_reason: 'idp_group_removed' });
    expect(await membership(w.all.id, w.cy.id)).toMatchObject({ status: 'active' });
    expect(await t.container.events.list({ take: 50, types: ['membership.flagged'] })).toHaveLength(5);
    const runs = await t.api('GET', `/api/v1/sync-runs?user=${w.cy.id}`);
    expect(runs.body.sync_runs[0]).toMatchObject({ directory_id: w.dir.id, flagged: [{ organization_id: w.eng.id, reason: 'idp_group_removed' }] });

    graph.updateUser('u-ada', { accountEnabled: true });
    graph.addMembers('g-eng', ['u-cy']);
    expect(await runner().run(w.dir.id, 'schedule')).toMatchObject({ kind: 'succeeded', counts: { reactivated: 1, members_added: 1 } });
    expect(await membership(w.eng.id, w.ada.id)).toMatchObject({ status: 'active' });
    expect(await membership(w.eng.id, w.cy.id)).toMatchObject({ status: 'active' });

    const before = graph.requests.length;
    const quiet = await runner().run(w.dir.id, 'schedule');
    expect(quiet).toMatchObject({ kind: 'succeeded', requests: 3, counts: {} });
    expect(graph.requests.slice(before).map((r) => r.path.split('?')[0])).toEqual(['/tenant-1/oauth2/v2.0/token', '/v1.0/users/delta', '/v1.0/groups/delta']);
  });

  it('an expired delta token (410 syncStateNotFound) starts a full pass; a fault mid-pass removes nothing, and the next run resumes and then sweeps', async () => {
    const w = await world();
    expect(await runner().run(w.dir.id, 'schedule')).toMatchObject({ kind: 'succeeded' });
    graph.pageSize = 1;
    graph.expireDeltaTokens();
    graph.forgetUser('u-cy');
    // Request 1: the deltaLink answers 410; request 2: page one of the full pass; then 503s.
    const failed = await runnerFailingAfter(w.dir.id, 2);
    expect(failed).toMatchObject({ kind: 'failed', error: expect.stringContaining('HTTP 503') });
    expect(graph.requests.filter((r) => r.path.includes('$deltatoken'))).not.toHaveLength(0);
    expect(await t.container.db('scim_users').where({ directory_id: w.dir.id })).toHaveLength(3);
    expect(await membership(w.eng.id, w.cy.id)).toMatchObject({ status: 'active' });
    const cursor = JSON.parse((await t.container.db('directory_pull_state').where({ directory_id: w.dir.id }).first()).cursor);
    expect(cursor).toMatchObject({ phase: 'users', pass: expect.any(String), usersDelta: null });
    expect(cursor.next).toContain('$skiptoken=1');
    const status = (await t.api('GET', `/api/v1/directories/${w.dir.id}`)).body.sync;
    expect(status).toMatchObject({ state: 'failing', failures: 1, last_error: expect.stringContaining('HTTP 503'), last_run: { status: 'failed' } });
    // Retried with backoff (30 s first, jittered), well before the five-minute interval.
    expect(Date.parse(status.next_run_at) - Date.parse(status.last_run_at)).toBeLessThan(60_000);

    const before = graph.requests.length;
    expect(await runner().run(w.dir.id, 'schedule')).toMatchObject({ kind: 'succeeded', counts: { deleted: 1, full_resyncs: 1 } });
    // Resumed at page two: the pass's first page was not fetched again.
    expect(graph.requests.slice(before).some((r) => r.path.startsWith('/v1.0/users/delta') && !r.path.includes('skiptoken'))).toBe(false);
    expect(await membership(w.eng.id, w.cy.id)).toMatchObject({ status: 'flagged', flagged_reason: 'idp_deleted' });
    expect(await membership(w.eng.id, w.ada.id)).toMatchObject({ status: 'active' });
    expect(await membership(w.eng.id, w.bob.id)).toMatchObject({ status: 'active' });
    expect(await t.container.db('directory_pull_seen')).toHaveLength(0);
    expect((await t.api('GET', `/api/v1/directories/${w.dir.id}`)).body.sync).toMatchObject({ state: 'idle', failures: 0, last_error: null });
  });

  it('waits out 429 Retry-After inside the run; a long Retry-After ends the run and schedules the retry after it', async () => {
    const w = await world();
    const slept: number[] = [];
    const r = new PullRunner(t.container, 'test-instance', { ...fast, http: { ...fast.http, sleep: async (ms) => void slept.push(ms) } });
    graph.fail('/v1.0/users/delta', 429, { headers: { 'retry-after': '2' }, body: { error: { code: 'TooManyRequests', message: 'slow down' } } });
    expect(await r.run(w.dir.id, 'schedule')).toMatchObject({ kind: 'succeeded' });
    expect(slept).toContain(2000);

    graph.fail('/v1.0/users/delta', 429, { headers: { 'retry-after': '600' } });
    graph.updateUser('u-ada', { accountEnabled: false });
    const failed = await r.run(w.dir.id, 'schedule');
    expect(failed).toMatchObject({ kind: 'failed', error: expect.stringContaining('rate_limited') });
    const state = await t.container.db('directory_pull_state').where({ directory_id: w.dir.id }).first();
    expect(Date.parse(state.next_run_at) - Date.parse(state.last_run_at)).toBeGreaterThanOrEqual(600_000);
    expect(await membership(w.eng.id, w.ada.id)).toMatchObject({ status: 'active' });
  });

  it('never sends the token to a next-page link on another origin, and a bad secret fails the run with token_error', async () => {
    const w = await world();
    const other = await new FakeGraph().start();
    try {
      graph.fail('/v1.0/users/delta', 200, { body: { value: [], '@odata.nextLink': `${other.apiBase}/users/delta?$skiptoken=x` } });
      const failed = await runner().run(w.dir.id, 'schedule');
      expect(failed).toMatchObject({ kind: 'failed', error: expect.stringContaining('leaves') });
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
    graph.clientSecret = 'rotated-secret';
    expect(await runner().run(w.dir.id, 'schedule')).toMatchObject({ kind: 'failed', error: expect.stringContaining('token_error') });
    // Rotation: a PATCH with the new secret; it is sealed and never shown.
    const patched = await t.api('PATCH', `/api/v1/directories/${w.dir.id}`, { body: { microsoft_graph: { client_secret: 'rotated-secret' } } });
    expect(patched.status).toBe(200);
    expect(patched.text).not.toContain('rotated-secret');
    expect(await runner().run(w.dir.id, 'schedule')).toMatchObject({ kind: 'succeeded' });
  });

  it('a lease keeps a second runner (another instance) off a directory while one runs; a killed run is taken over after the lease expires', async () => {
    const w = await world();
    const clock = t.clock as ManualClock;
    const bRunner = new PullRunner(t.container, 'instance-b', fast);
    graph.fail('/v1.0/users/delta', 429, { headers: { 'retry-after': '1' } });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = new PullRunner(t.container, 'instance-a', { ...fast, http: { ...fast.http, sleep: () => gate } });
    const first = await slow.start(w.dir.id, 'manual');
    expect(first.runId).toBeTruthy();
    expect(await bRunner.run(w.dir.id, 'schedule')).toEqual({ kind: 'skipped', reason: 'lease_held' });
    expect((await t.api('POST', `/api/v1/directories/${w.dir.id}/sync`)).body).toMatchObject({ errorCode: 'sync_in_progress' });
    release();
    expect(await first.outcome).toMatchObject({ kind: 'succeeded' });

    // A run that died holding the lease: another instance takes over once the lease has expired.
    await t.container.db('job_locks').insert({ name: `pull-directory:${w.dir.id}`, owner: 'dead-instance', locked_until: new Date(clock.now().getTime() + 60_000).toISOString() }).onConflict('name').merge();
    expect(await bRunner.run(w.dir.id, 'schedule')).toEqual({ kind: 'skipped', reason: 'lease_held' });
    clock.advance(61_000);
    expect(await bRunner.run(w.dir.id, 'schedule')).toMatchObject({ kind: 'succeeded' });
  });

  it("another tenant's Graph directory listing acme.com emails cannot link, suspend or sign out acme's accounts; narrow keys cannot sync or read secrets", async () => {
    const w = await world();
    await runner().run(w.dir.id, 'schedule');
    await b.session(w.ada.id);
    const beta = await b.connection({ name: 'beta-entra', domains: ['beta.com'] });
    const betaOrg = await b.organization({ name: 'beta', connection_id: beta.id });
    await b.rule({ connection_id: beta.id, organization_id: betaOrg.id, groups: null });
    const evil = await new FakeGraph().start();
    try {
      evil.addUser({ ...gUser('x-ada', 'Ada'), accountEnabled: false });
      const created = await t.api('POST', '/api/v1/directories', {
        body: { connection_id: beta.id, kind: 'microsoft_graph', microsoft_graph: { tenant_id: 'tenant-1', client_id: 'app-1', client_secret: 'graph-secret', api_base_url: evil.apiBase, token_url: evil.tokenUrl } },
      });
      expect(await runner().run(created.body.id, 'schedule')).toMatchObject({ kind: 'succeeded' });
      evil.deleteUser('x-ada');
      expect(await runner().run(created.body.id, 'schedule')).toMatchObject({ kind: 'succeeded', counts: { deleted: 1 } });
      const pulled = await t.container.db('scim_user_tombstones').where({ directory_id: created.body.id }).first();
      expect(pulled.user_id).not.toBe(w.ada.id);
      for (const org of [w.eng, w.all]) expect(await membership(org.id, w.ada.id)).toMatchObject({ status: 'active' });
      expect(await t.container.db('sessions').where({ user_id: w.ada.id })).toHaveLength(1);
      expect((await t.container.db('users').where({ id: w.ada.id }).first()).active).toBeTruthy();
    } finally {
      await evil.close();
    }
    const reader = await t.keyWith('read:directories');
    expect((await t.api('POST', `/api/v1/directories/${w.dir.id}/sync`, { key: reader })).status).toBe(403);
    expect((await t.api('PATCH', `/api/v1/directories/${w.dir.id}`, { key: reader, body: { microsoft_graph: { token_url: 'https://evil.example/token' } } })).status).toBe(403);
    const read = await t.api('GET', `/api/v1/directories/${w.dir.id}`, { key: reader });
    expect(read.status).toBe(200);
    expect(read.text).not.toContain('graph-secret');
    // Redirecting the token or API URL needs the secret in the same request: a key that may update
    // directories cannot have the stored secret sent to a host it chose.
    const redirect = await t.api('PATCH', `/api/v1/directories/${w.dir.id}`, { body: { microsoft_graph: { token_url: 'https://evil.example/token' } } });
    expect(redirect).toMatchObject({ status: 400, body: { errorCode: 'invalid_body', message: expect.stringContaining('client_secret') } });
    const withSecret = await t.api('PATCH', `/api/v1/directories/${w.dir.id}`, { body: { microsoft_graph: { token_url: 'https://login.example/token', client_secret: 'their-own' } } });
    expect(withSecret.body.settings.microsoft_graph.token_url).toBe('https://login.example/token');
    // Overrides are https (http only on loopback): a token URL on a private http host is refused.
    const bad = await t.api('PATCH', `/api/v1/directories/${w.dir.id}`, { body: { microsoft_graph: { token_url: 'http://10.0.0.5/token' } } });
    expect(bad).toMatchObject({ status: 400, body: { errorCode: 'invalid_body' } });
  });

  it('a shutdown stops a run at the next page; it is recorded as interrupted, not as a failure, and resumes at once', async () => {
    const w = await world();
    graph.pageSize = 1;
    graph.fail('/v1.0/users/delta', 429, { headers: { 'retry-after': '1' } });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const r = new PullRunner(t.container, 'instance-a', { ...fast, http: { ...fast.http, sleep: () => gate } });
    const started = await r.start(w.dir.id, 'schedule');
    r.stop();
    release();
    expect(await started.outcome).toMatchObject({ kind: 'failed', error: expect.stringContaining('stopped') });
    const state = await t.container.db('directory_pull_state').where({ directory_id: w.dir.id }).first();
    expect(state).toMatchObject({ failures: 0, last_error: null });
    expect(Date.parse(state.next_run_at)).toBeLessThanOrEqual(t.clock.now().getTime());
    expect((await t.container.db('directory_pull_runs').where({ id: started.runId }).first()).status).toBe('interrupted');
    expect(await runner().run(w.dir.id, 'schedule')).toMatchObject({ kind: 'succeeded', counts: { created: 3 } });
  });

  it('the schedule runs a directory when it is due and not before', async () => {
    const w = await world();
    const clock = t.clock as ManualClock;
    const scheduler = new PullScheduler(t.container, runner());
    await scheduler.tick();
    expect(await t.container.db('directory_pull_runs').where({ directory_id: w.dir.id, trigger: 'schedule' })).toHaveLength(1);
    await scheduler.tick();
    expect(await t.container.db('directory_pull_runs').where({ directory_id: w.dir.id })).toHaveLength(1);
    clock.advance(331_000);
    await scheduler.tick();
    expect(await t.container.db('directory_pull_runs').where({ directory_id: w.dir.id })).toHaveLength(2);
  });
});

/** A run whose requests to the users delta answer 503 after the first `okRequests` (a fault mid-run). */
async function runnerFailingAfter(dirId: string, okRequests: number) {
  let n = 0;
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.includes('/users/delta') && ++n > okRequests) return new Response(JSON.stringify({ error: { code: 'serviceUnavailable' } }), { status: 503 });
    return realFetch(input, init);
  }) as typeof fetch;
  try {
    return await runner().run(dirId, 'schedule');
  } finally {
    globalThis.fetch = realFetch;
  }
}
