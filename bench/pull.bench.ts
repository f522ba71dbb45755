/**
 * Pull directories (issue bars): initial Microsoft Graph pull of 10,000 and of 100,000 users with
 * 1,000 groups (time, peak RSS of this process, which does the pulling; the fake Graph runs in its
 * own process), then a quiet delta round (requests, time), then 1,000 suspensions between two runs
 * (all flagged in the next run). SQLite file by default.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '../src/config/index.js';
import { createContainer, type Container } from '../src/container.js';
import { createLogger } from '../src/platform/logger.js';
import { changesOfPullRun } from '../src/modules/pull-directories/run-summary.js';
import { PullRunner } from '../src/modules/pull-directories/runner.js';

const MiB = (n: number) => `${Math.round(n / 1048576)} MiB`;

function startFake(users: number, groups: number, perGroup: number): Promise<{ url: string; child: ChildProcessWithoutNullStreams; send: (cmd: string) => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lib/fake-graph-process.ts'), String(users), String(groups), String(perGroup), '500'], { stdio: 'pipe' });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => String((await lines.next()).value);
  return next().then((url) => ({
    url,
    child,
    send: async (cmd: string) => {
      child.stdin.write(`${cmd}\n`);
      await next();
    },
  }));
}

async function scenario(users: number, groups: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'orgsync-pull-bench-'));
  const fake = await startFake(users, groups, 100);
  const c: Container = await createContainer({ config: loadConfig({ DATABASE_URL: `sqlite:${join(dir, 'bench.sqlite')}`, LOG_LEVEL: 'silent', ORGSYNC_SECRET: 'bench-secret-0123456789' }), logger: createLogger('silent') });
  try {
    const at = new Date().toISOString();
    const connectionId = randomUUID();
    await c.db('connections').insert({ id: connectionId, name: 'bench', type: 'oidc', idp: '{}', attribute_mapping: '{}', roles_managed_by: 'idp', membership_sync: 'on_login', allow_idp_initiated: false, created_at: at, updated_at: at });
    await c.db('connection_domains').insert({ domain: 'bench.example', connection_id: connectionId });
    const orgId = randomUUID();
    await c.db('organizations').insert({ id: orgId, name: 'bench-org', display_name: 'Bench', connection_id: connectionId, created_at: at, updated_at: at });
    await c.db('membership_rules').insert({ connection_id: connectionId, organization_id: orgId, role: 'member', groups: null, position: 0 });
    const id = await c.pullDirectories.create(
      { connection_id: connectionId, kind: 'microsoft_graph', microsoft_graph: { tenant_id: 'tenant-1', client_id: 'app-1', client_secret: 'graph-secret', api_base_url: `${fake.url}/v1.0`, token_url: `${fake.url}/tenant-1/oauth2/v2.0/token` } },
      { type: 'system', id: null },
    );
    const runner = new PullRunner(c, 'bench');
    let peak = process.memoryUsage().rss;
    const rssBefore = peak;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
    let t0 = performance.now();
    const initial = await runner.run(id, 'manual');
    const initialMs = performance.now() - t0;
    clearInterval(sampler);
    console.log(`initial pull, ${users} users / ${groups} groups (100 members each): ${(initialMs / 1000).toFixed(1)} s, ${initial.kind}, ${'requests' in initial ? initial.requests : 0} requests; RSS ${MiB(rssBefore)} before, peak ${MiB(peak)}`);

    t0 = performance.now();
    const quiet = await runner.run(id, 'manual');
    console.log(`quiet delta round: ${'requests' in quiet ? quiet.requests : 0} requests (token + users + groups), ${(performance.now() - t0).toFixed(0)} ms, changes ${JSON.stringify('counts' in quiet ? quiet.counts : {})}`);

    // 1,000 of the pulled users get a membership, then are suspended in the IdP between two runs.
    const linked = await c.db('scim_users').where({ directory_id: id }).whereIn('external_id', Array.from({ length: 1000 }, (_, i) => `u-${i}`)).pluck('user_id');
    for (let i = 0; i < linked.length; i += 200) {
      await c.db('memberships').insert(linked.slice(i, i + 200).map((user_id: string) => ({ organization_id: orgId, user_id, role: 'member', source: 'sso', status: 'active', joined_at: at })));
    }
    await fake.send('suspend 1000');
    t0 = performance.now();
    const suspended = await runner.run(id, 'manual');
    const flagged = await c.db('memberships').where({ organization_id: orgId, status: 'flagged', flagged_reason: 'idp_deactivated' }).count<Array<{ n: number }>>({ n: '*' });
    console.log(`1,000 suspensions: next run ${(performance.now() - t0).toFixed(0)} ms, ${'requests' in suspended ? suspended.requests : 0} requests, ${Number(flagged[0]!.n)} memberships flagged idp_deactivated`);
    // What the run's entry in the organization's sync report costs: counting its per-user runs again.
    if ('runId' in suspended) {
      t0 = performance.now();
      const changes = await changesOfPullRun(c.db, suspended.runId);
      const entry = await c.db('sync_runs').where({ pull_run_id: suspended.runId, trigger: 'pull' }).first<{ pull: string } | undefined>('pull');
      console.log(`  its sync-report entry: ${changes.get(orgId)?.flagged ?? 0} flags counted from the run's sync runs in ${(performance.now() - t0).toFixed(0)} ms; stored changes ${JSON.stringify(entry ? JSON.parse(entry.pull).changes : null)}`);
    }
  } finally {
    fake.child.kill();
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  if (process.env.PULL_BENCH_SMALL) return scenario(10_000, 100);
  await scenario(10_000, 100);
  await scenario(100_000, 1_000);
}
