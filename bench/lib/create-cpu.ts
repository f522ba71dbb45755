/**
 * Where the CPU of a SCIM create goes, by process (a profile aid, not a benchmark: `npx tsx
 * bench/lib/create-cpu.ts`). Starts an orgsync server (`src/main.ts` of this checkout, or of
 * CREATE_CPU_ROOT) on PostgreSQL when TEST_DATABASE_URL is set (a schema of its own), else on a SQLite
 * file; creates users with autocannon from this process for CREATE_CPU_SECONDS (default 8) at
 * CREATE_CPU_CONNECTIONS (default 1); then prints creates/s and, per create, the CPU milliseconds of
 * the server process, of every PostgreSQL process, of this process (the load generator), and of the
 * whole machine (busy and idle, from /proc/stat), with PostgreSQL's own counters per create
 * (transactions committed and rolled back, rows inserted, updated and read). CREATE_CPU_ANALYZE=1
 * runs ANALYZE before the load, while the tables are empty, as http-ratios does after seeding.
 * CREATE_CPU_NODE_ARGS: options for the server's node (say `--cpu-prof --cpu-prof-dir=DIR`).
 * CREATE_CPU_LOG_LEVEL: the server's LOG_LEVEL (default `warn`; at `info`, as `npm start` runs, its
 * access lines come out on this process's standard output).
 * Linux only (/proc).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { freePort, ROOT, stopProcess, tempDir } from '../../test/helpers/process.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../../test/helpers/db.js';
import { createDb } from '../../src/platform/db.js';

const KEY = 'create-cpu-bench-key-0123456789abcdef';
const root = process.env.CREATE_CPU_ROOT ?? ROOT;
const connections = Number(process.env.CREATE_CPU_CONNECTIONS ?? 1);
const seconds = Number(process.env.CREATE_CPU_SECONDS ?? 8);
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** CPU ticks (user + system) of one process, 0 once it is gone. */
function ticksOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** CPU ticks of every process named `postgres` (the server's backends and its helpers). */
function postgresTicks(): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') total += ticksOf(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

function machineTicks(): { busy: number; idle: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { busy: f[0]! + f[1]! + f[2]! + f[5]! + f[6]!, idle: f[3]! + f[4]! };
}

const pgCounters = async (url: string): Promise<number[]> => {
  const db = createDb(url);
  try {
    const r = await db.raw('SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_returned FROM pg_stat_database WHERE datname = current_database()');
    return Object.values((r as { rows: Array<Record<string, string>> }).rows[0]!).map(Number);
  } finally {
    await db.destroy();
  }
};

const pg = TEST_DATABASE_URL ? await createTestDatabase('postgres') : undefined;
await pg?.db.destroy();
const databaseUrl = pg?.url ?? `sqlite:${join(tempDir('orgsync-create-cpu-'), 'bench.sqlite')}`;
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const nodeArgs = (process.env.CREATE_CPU_NODE_ARGS ?? '').split(' ').filter(Boolean);
const server = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(root, 'src/main.ts')], {
  cwd: root,
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: url, DATABASE_URL: databaseUrl, ORGSYNC_BOOTSTRAP_API_KEY: KEY, ORGSYNC_SECRET: 'create-cpu-bench-secret-0123456789abcdef', LOG_LEVEL: process.env.CREATE_CPU_LOG_LEVEL ?? 'warn', RATE_LIMIT_SCIM_PER_MINUTE: '10000000', RATE_LIMIT_API_PER_MINUTE: '10000000' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      if (i > 600) throw new Error('the server did not start');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const api = async (path: string, body: unknown) => (await (await fetch(`${url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { id: string; token: string };
  const conn = await api('/connections', { name: `cpu-${randomUUID().slice(0, 8)}`, type: 'oidc', idp: { issuer: 'https://idp.example.com', client_id: 'cpu', client_secret: 'cpu-secret' }, domains: ['example.com'] });
  const dir = await api('/directories', { connection_id: conn.id });
  if (process.env.CREATE_CPU_ANALYZE === '1' && pg) {
    // As http-ratios does after seeding: statistics taken while the users table is still empty.
    const db = createDb(pg.url);
    await db.raw('ANALYZE');
    await db.destroy();
  }
  let n = 0;
  const creates = (secs: number, tag: string): autocannon.Options => ({
    url,
    connections,
    duration: secs,
    headers: { authorization: `Bearer ${dir.token}`, 'content-type': 'application/scim+json' },
    requests: [
      {
        method: 'POST',
        path: `/scim/v2/${dir.id}/Users`,
        setupRequest: (req) => {
          const userName = `cpu-${tag}-${n++}@example.com`;
          return { ...req, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, externalId: userName, name: { givenName: 'Cpu', familyName: String(n) }, emails: [{ value: userName, type: 'work', primary: true }], active: true }) };
        },
      },
    ],
  });
  const load = (o: autocannon.Options) => new Promise<autocannon.Result>((resolve, reject) => autocannon(o, (err, result) => (err ? reject(err) : resolve(result))));
  await load(creates(2, 'warm'));

  const counters0 = pg ? await pgCounters(pg.url) : [];
  const m0 = machineTicks();
  const s0 = ticksOf(server.pid!);
  const p0 = postgresTicks();
  const self0 = process.cpuUsage();
  const result = await load(creates(seconds, 'run'));
  const self = process.cpuUsage(self0);
  const s1 = ticksOf(server.pid!);
  const p1 = postgresTicks();
  const m1 = machineTicks();
  const total = result.requests.total;
  const perCreate = (ticks: number) => ((ticks * TICK_MS) / total).toFixed(3);
  console.log(`${pg ? 'PostgreSQL' : 'SQLite'}, ${connections} connection(s): ${(total / result.duration).toFixed(0)} creates/s, ${result.non2xx + result.errors} errors`);
  console.log(`CPU ms per create: server ${perCreate(s1 - s0)}${pg ? `, PostgreSQL ${perCreate(p1 - p0)}` : ''}, load generator ${((self.user + self.system) / 1000 / total).toFixed(3)}; machine busy ${perCreate(m1.busy - m0.busy)}, idle ${perCreate(m1.idle - m0.idle)}`);
  if (pg) {
    // PostgreSQL reports its counters about once a second.
    await new Promise((r) => setTimeout(r, 1500));
    const counters1 = await pgCounters(pg.url);
    const [commits, rollbacks, inserted, updated, returned] = counters1.map((v, i) => ((v - counters0[i]!) / total).toFixed(2));
    console.log(`PostgreSQL per create: ${commits} commits, ${rollbacks} rollbacks, ${inserted} rows inserted, ${updated} updated, ${returned} read (other work on the database included)`);
    const db = createDb(pg.url);
    try {
      const scans = (await db.raw(`SELECT relname, seq_scan, seq_tup_read, idx_scan FROM pg_stat_user_tables WHERE schemaname = current_schema() AND seq_tup_read > 0 ORDER BY seq_tup_read DESC LIMIT 5`)) as { rows: Array<{ relname: string; seq_scan: string; seq_tup_read: string; idx_scan: string | null }> };
      console.log(`tables read by sequential scans (whole run): ${scans.rows.map((r) => `${r.relname} ${r.seq_scan} scans, ${r.seq_tup_read} rows`).join('; ') || 'none'}`);
    } finally {
      await db.destroy();
    }
  }
} finally {
  await stopProcess(server);
  await pg?.cleanup();
}
