import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Builder } from '../helpers/builders.js';
import { FakeGraph, type GraphUser } from '../helpers/fake-graph.js';
import { AdminClient } from '../helpers/admin-client.js';
import { runCliHere } from '../helpers/cli.js';
import type { ManualClock } from '../../src/platform/clock.js';
import { PullRunner, defaultRunnerOptions } from '../../src/modules/pull-directories/runner.js';

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

const gUser = (id: string, name: string): GraphUser => ({
  id,
  displayName: name,
  userPrincipalName: `${name.toLowerCase()}@acme.com`,
  mail: `${name.toLowerCase()}@acme.com`,
  accountEnabled: true,
});

/**
 * Customer A (acme): a Graph directory governing eng (group Engineering) and all-hands (everyone).
 * Customer B (globex): its own connection and organization; Ada is a member there too, through B.
 */
async function world() {
  const conn = await b.connection({ name: 'acme-entra', domains: ['acme.com'] });
  const eng = await b.organization({ name: 'eng', connection_id: conn.id });
  const all = await b.organization({ name: 'all-hands', connection_id: conn.id });
  await b.rule({ connection_id: conn.id, organization_id: eng.id, groups: ['Engineering'] });
  await b.rule({ connection_id: conn.id, organization_id: all.id });
  const ada = await b.user({ email: 'ada@acme.com' });
  const bob = await b.user({ email: 'bob@acme.com' });
  for (const u of [ada, bob]) for (const org of [eng, all]) await b.membership({ organization_id: org.id, user_id: u.id });
  const globexConn = await b.connection({ name: 'globex-okta', domains: ['globex.com'] });
  const globex = await b.organization({ name: 'globex-eng', connection_id: globexConn.id });
  await b.membership({ organization_id: globex.id, user_id: ada.id });
  graph.addUser(gUser('u-ada', 'Ada'));
  graph.addUser(gUser('u-bob', 'Bob'));
  graph.addGroup('g-eng', 'Engineering', ['u-ada', 'u-bob']);
  const dirId = await t.container.pullDirectories.create(
    { connection_id: conn.id, name: 'Acme Entra', kind: 'microsoft_graph', microsoft_graph: { tenant_id: 'tenant-1', client_id: 'app-1', client_secret: 'graph-secret', api_base_url: graph.apiBase, token_url: graph.tokenUrl } },
    { type: 'system', id: null },
  );
  return { conn, eng, all, globex, ada, bob, dirId };
}

const fast = { ...defaultRunnerOptions, http: { ...defaultRunnerOptions.http, sleep: async () => {}, timeoutMs: 2000 } };
const runner = () => new PullRunner(t.container, 'test-instance', fast);

const report = async (org: string) => {
  const r = await t.api('GET', `/api/v1/organizations/${org}/sync-report`);
  expect(r.status).toBe(200);
  return r.body;
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- report JSON
const pullRuns = (rep: any) => rep.recent_runs.filter((r: { trigger: string }) => r.trigger === 'pull');

describe("pull runs in the organization's sync report", () => {
  it('a run that flagged members appears in each organization it touched, with its evidence and what it changed there; quiet runs add nothing', async () => {
    const w = await world();
    expect(await runner().run(w.dirId, 'manual')).toMatchObject({ kind: 'succeeded' });
    // The first pass linked users and changed no membership: no pull run in the reports.
    expect(pullRuns(await report('eng'))).toEqual([]);

    graph.updateUser('u-ada', { accountEnabled: false });
    graph.removeMembers('g-eng', ['u-bob']);
    const round = await runner().run(w.dirId, 'schedule');
    expect(round).toMatchObject({ kind: 'succeeded' });
    const runId = (round as { runId: string }).runId;

    const eng = pullRuns(await report('eng'));
    expect(eng).toHaveLength(1);
    expect(eng[0]).toMatchObject({
      trigger: 'pull',
      user_id: null,
      directory_id: w.dirId,
      connection_id: w.conn.id,
      error: null,
      pull_run_id: runId,
      pull: {
        run_id: runId,
        organization_id: w.eng.id,
        directory_id: w.dirId,
        directory_name: 'Acme Entra',
        kind: 'microsoft_graph',
        trigger: 'schedule',
        status: 'succeeded',
        complete: true,
        requests: expect.any(Number),
        counts: { deactivated: 1, members_removed: 1 },
        changes: { flagged: 2, restored: 0, added: 0, by_reason: { idp_deactivated: 1, idp_group_removed: 1 } },
      },
    });
    expect((await report('eng')).summary).toMatchObject({ directory_kind: 'microsoft_graph', last_pull_at: expect.any(String), last_pull_success_at: expect.any(String) });
    const all = pullRuns(await report('all-hands'));
    expect(all).toHaveLength(1);
    expect(all[0].pull).toMatchObject({ run_id: runId, organization_id: w.all.id, changes: { flagged: 1, by_reason: { idp_deactivated: 1 } } });
    // The per-user runs name the pull run that wrote them; so does the flag's evidence in the CSV.
    const adaRuns = await t.api('GET', `/api/v1/sync-runs?user=${w.ada.id}`);
    expect(adaRuns.body.sync_runs[0]).toMatchObject({ trigger: 'scim', pull_run_id: runId, pull: null });
    const csv = await t.api('GET', '/api/v1/organizations/eng/sync-report?format=csv');
    expect(csv.text.split('\r\n').find((l) => l.includes('ada@acme.com'))).toContain(`""pull_run_id"":""${runId}""`);

    // The page and the CLI show the same run.
    const a = new AdminClient(t.url);
    await a.signIn(t.adminKey);
    const page = (await a.get('/admin/organizations/eng/report')).text;
    expect(page).toContain(`data-pull-run="${runId}"`);
    expect(page).toMatch(/directory pull \(schedule\)/);
    expect(page).toContain('Acme Entra');
    expect(page).toContain('2 flagged</span> (');
    expect(page).toContain('<dt>Last directory pull</dt>');
    expect(page).not.toContain('Last SCIM activity');
    const cli = await runCliHere(['report', '--org', 'eng'], { DATABASE_URL: t.database.url, ORGSYNC_SECRET: 'test-secret-0123456789', LOG_LEVEL: 'silent' });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('Recent directory pulls:');
    expect(cli.stdout).toMatch(/last directory pull \d{4}-.*last complete pull \d{4}-/);
    expect(cli.stdout).toMatch(new RegExp(`Acme Entra \\(microsoft_graph\\)  run ${runId}  succeeded  \\d+ requests  flagged 2 \\(`));

    // A quiet round writes no report entry.
    expect(await runner().run(w.dirId, 'schedule')).toMatchObject({ kind: 'succeeded', counts: {} });
    expect(pullRuns(await report('eng'))).toHaveLength(1);
  });

  it('a failed run appears in every governed organization as failed and incomplete, with its error and only what its pages stated', async () => {
    const w = await world();
    expect(await runner().run(w.dirId, 'manual')).toMatchObject({ kind: 'succeeded' });
    graph.updateUser('u-ada', { accountEnabled: false });
    graph.removeMembers('g-eng', ['u-bob']);
    // The users round answers; every groups round fails: Bob's lost group is not applied.
    graph.fail('/v1.0/groups/delta', 503, { times: 20 });
    const failed = await runner().run(w.dirId, 'schedule');
    expect(failed).toMatchObject({ kind: 'failed', error: expect.stringContaining('503') });
    const runId = (failed as { runId: string }).runId;

    for (const org of ['eng', 'all-hands']) {
      const runs = pullRuns(await report(org));
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ error: expect.stringContaining('503'), pull: { run_id: runId, status: 'failed', complete: false } });
    }
    // Ada's explicit suspension (read before the fault) applied; Bob's group loss did not.
    expect(pullRuns(await report('eng'))[0].pull.changes).toMatchObject({ flagged: 1, by_reason: { idp_deactivated: 1 } });
    expect(await t.container.db('memberships').where({ organization_id: w.eng.id, user_id: w.bob.id }).first()).toMatchObject({ status: 'active' });

    const a = new AdminClient(t.url);
    await a.signIn(t.adminKey);
    const page = (await a.get('/admin/organizations/all-hands/report')).text;
    expect(page).toContain(`data-pull-run="${runId}" data-status="failed"`);
    expect(page).toContain('Did not complete: it changed nothing that depends on absence here.');
    expect(page).toMatch(/Error: .*503/);
  });

  it('the same failure again and again is one entry that counts its runs, and a different outcome starts a new one', async () => {
    const w = await world();
    expect(await runner().run(w.dirId, 'manual')).toMatchObject({ kind: 'succeeded' });
    const a = new AdminClient(t.url);
    await a.signIn(t.adminKey);
    // The secret was rotated on Microsoft's side: every retry fails the same way.
    graph.clientSecret = 'rotated-elsewhere';
    const runIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      (t.clock as ManualClock).advance(60_000);
      const r = await runner().run(w.dirId, 'schedule');
      expect(r).toMatchObject({ kind: 'failed' });
      runIds.push((r as { runId: string }).runId);
    }
    for (const org of ['eng', 'all-hands']) {
      const runs = pullRuns(await report(org));
      expect(runs).toHaveLength(1);
      expect(runs[0].pull).toMatchObject({ run_id: runIds[3], status: 'failed', repeats: 4 });
      expect(runs[0].pull.first_started_at < runs[0].pull.started_at).toBe(true);
    }
    expect((await a.get('/admin/organizations/eng/report')).text).toMatch(/The same failure 4 runs in a row since/);
    // Another error is another entry; so is the run that succeeds again.
    graph.clientSecret = 'graph-secret';
    graph.fail('/v1.0/users/delta', 503, { times: 20 });
    expect(await runner().run(w.dirId, 'schedule')).toMatchObject({ kind: 'failed' });
    graph.clearFaults();
    graph.updateUser('u-ada', { accountEnabled: false });
    expect(await runner().run(w.dirId, 'schedule')).toMatchObject({ kind: 'succeeded' });
    const statuses = pullRuns(await report('eng')).map((r: { pull: { status: string; repeats?: number } }) => [r.pull.status, r.pull.repeats ?? 1]);
    expect(statuses).toEqual([['succeeded', 1], ['failed', 1], ['failed', 4]]);
  });

  it('failures separated by a quiet successful run are two entries, not a series', async () => {
    const w = await world();
    expect(await runner().run(w.dirId, 'manual')).toMatchObject({ kind: 'succeeded' });
    const fail = async () => {
      graph.clientSecret = 'rotated-elsewhere';
      (t.clock as ManualClock).advance(60_000);
      expect(await runner().run(w.dirId, 'schedule')).toMatchObject({ kind: 'failed' });
      graph.clientSecret = 'graph-secret';
    };
    await fail();
    (t.clock as ManualClock).advance(60_000);
    expect(await runner().run(w.dirId, 'schedule')).toMatchObject({ kind: 'succeeded' }); // quiet: no entry
    await fail();
    const runs = pullRuns(await report('eng'));
    expect(runs.map((r: { pull: { status: string; repeats?: number } }) => [r.pull.status, r.pull.repeats ?? 1])).toEqual([['failed', 1], ['failed', 1]]);
  });

  it('a run cut short (killed instance) appears as interrupted once another run takes over', async () => {
    const w = await world();
    const now = t.clock.now().toISOString();
    await t.container.db('directory_pull_runs').insert({ id: '00000000-0000-7000-8000-000000000001', directory_id: w.dirId, trigger: 'schedule', status: 'running', started_at: now, finished_at: null, requests: 4, counts: '{}', error: null });
    expect(await runner().run(w.dirId, 'schedule')).toMatchObject({ kind: 'succeeded' });
    const runs = pullRuns(await report('eng'));
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ error: expect.stringContaining('cut short'), pull: { run_id: '00000000-0000-7000-8000-000000000001', status: 'interrupted', complete: false, requests: 4 } });
  });

  it("customer B's organization never sees customer A's pull runs or their evidence, even for a person in both", async () => {
    const w = await world();
    expect(await runner().run(w.dirId, 'manual')).toMatchObject({ kind: 'succeeded' });
    graph.updateUser('u-ada', { accountEnabled: false });
    expect(await runner().run(w.dirId, 'schedule')).toMatchObject({ kind: 'succeeded' });
    graph.fail('/v1.0/users/delta', 503, { times: 20 });
    expect(await runner().run(w.dirId, 'schedule')).toMatchObject({ kind: 'failed' });
    expect(pullRuns(await report('eng'))).toHaveLength(2);

    const globex = await report('globex-eng');
    expect(globex.recent_runs).toEqual([]);
    expect(globex.summary).toMatchObject({ directory_kind: null, last_pull_at: null, last_pull_success_at: null });
    const text = JSON.stringify(globex);
    for (const leak of [w.dirId, 'Acme Entra', 'microsoft_graph', 'pull_run']) expect(text).not.toContain(leak);
    expect((await t.api('GET', `/api/v1/sync-runs?organization=globex-eng`)).body.sync_runs).toEqual([]);
    const csv = await t.api('GET', '/api/v1/organizations/globex-eng/sync-report?format=csv&status=all');
    expect(csv.text).toContain('ada@acme.com');
    expect(csv.text).not.toContain(w.dirId);
    expect(await t.container.db('memberships').where({ organization_id: w.globex.id, user_id: w.ada.id }).first()).toMatchObject({ status: 'active' });

    const a = new AdminClient(t.url);
    await a.signIn(t.adminKey);
    const page = (await a.get('/admin/organizations/globex-eng/report')).text;
    expect(page).not.toContain('data-pull-run');
    expect(page).not.toContain('Acme Entra');
  });
});
