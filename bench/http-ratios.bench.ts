/**
 * Out-of-process SCIM throughput (`npm run bench http-ratios`): each orgsync server runs in a child
 * process (`src/main.ts`, as `npm start` runs it, with its webhook worker and the SCIM rate limit on,
 * set high enough not to refuse), the bare express JSON route in another, and autocannon in a third
 * (bench/lib/autocannon-client.ts), so no two of them share an event loop. Cases: a `userName eq`
 * lookup, a 100-user page with `totalResults` and creates, at 10 connections (creates also at 1), on a
 * SQLite file and, when TEST_DATABASE_URL is set, on PostgreSQL, side by side in one run; each case in
 * rounds alternating with the bare route; ratios are medians of the rounds' ratios.
 *
 * - HTTP_RATIOS_USERS (default 10,000) users are seeded per directory, by bulk insert.
 * - HTTP_RATIOS_SECONDS (default 3) per round, HTTP_RATIOS_ROUNDS (default 3).
 * - HTTP_RATIOS_BEFORE=<dir>: also serve the same cases from another checkout of orgsync (its own
 *   databases), measured in the same rounds: paired before/after numbers in one window.
 * - HTTP_RATIOS_SYNC_USERS=<n>: afterwards, an Entra-pattern initial sync of n users (lookup, then
 *   create, one connection) against each server, projected to 100,000 users.
 * - HTTP_RATIOS_CASES=create-1,create-10 (of lookup, page, create-1, create-10) and
 *   HTTP_RATIOS_DATABASES=pg (of sqlite, pg): measure only these, to iterate on one path.
 * - On PostgreSQL, two instances of the server share one database and take the 10-connection creates
 *   and lookups together (5 connections each), beside one instance alone.
 * - HTTP_RATIOS_LOG_LEVEL (default `info`, as `npm start` runs): the servers' LOG_LEVEL. At `info` every
 *   request writes its access line to standard output, which this process reads.
 * - HTTP_RATIOS_NODE_ARGS: extra Node options for the orgsync servers (a profile aid, for example
 *   `--cpu-prof --cpu-prof-dir=<dir>`: each server writes its profile when it stops).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { randomUUID } from 'node:crypto';
import { fmt } from './lib/harness.js';
import type { BenchCase, BenchRun, BenchTarget, RatiosPlan, RatiosReport, RoundResult, SyncResult } from './lib/autocannon-client.js';
import { freePort, ROOT, stopProcess, tempDir } from '../test/helpers/process.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../test/helpers/db.js';
import { createDb } from '../src/platform/db.js';
import { uuidv7 } from '../src/platform/ids.js';

const USERS = Number(process.env.HTTP_RATIOS_USERS ?? 10_000);
const SECONDS = Number(process.env.HTTP_RATIOS_SECONDS ?? 3);
const ROUNDS = Number(process.env.HTTP_RATIOS_ROUNDS ?? 3);
const BEFORE = process.env.HTTP_RATIOS_BEFORE;
const SYNC_USERS = Number(process.env.HTTP_RATIOS_SYNC_USERS ?? 0);
const LOG_LEVEL = process.env.HTTP_RATIOS_LOG_LEVEL ?? 'info';
const only = (name: string) => process.env[name]?.split(',').map((s) => s.trim()).filter(Boolean);
const CASES = only('HTTP_RATIOS_CASES');
const DATABASES = only('HTTP_RATIOS_DATABASES');
const KEY = 'http-ratios-bench-key-0123456789abcdef';

interface Server {
  child: ChildProcess;
  url: string;
}

/** `node --import tsx src/main.ts` of a checkout, on a port of its own; waits for /healthz. */
async function startServer(root: string, databaseUrl: string): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const nodeArgs = process.env.HTTP_RATIOS_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(root, 'src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: url,
      DATABASE_URL: databaseUrl,
      ORGSYNC_BOOTSTRAP_API_KEY: KEY,
      ORGSYNC_SECRET: 'http-ratios-bench-secret-0123456789abcdef',
      LOG_LEVEL: LOG_LEVEL,
      // The limiter stays on (its cost is part of every request) but never refuses here.
      RATE_LIMIT_SCIM_PER_MINUTE: '10000000',
      RATE_LIMIT_API_PER_MINUTE: '10000000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Read as a log collector would; only the last lines are kept, for a server that fails to start.
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-16_384));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${out}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start:\n${out}`);
}

async function api<T>(url: string, path: string, body: unknown): Promise<T> {
  const r = await fetch(`${url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (r.status !== 201) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** A connection and its SCIM directory through the API, then `users` users by bulk insert. */
async function seed(server: Server, databaseUrl: string, users: number): Promise<BenchTarget> {
  const conn = await api<{ id: string }>(server.url, '/connections', {
    name: `bench-${randomUUID().slice(0, 8)}`,
    type: 'oidc',
    idp: { issuer: 'https://idp.example.com', client_id: 'bench', client_secret: 'bench-secret' },
    domains: ['example.com'],
  });
  const dir = await api<{ id: string; token: string }>(server.url, '/directories', { connection_id: conn.id });
  const db = createDb(databaseUrl);
  try {
    const now = new Date().toISOString();
    for (let start = 0; start < users; start += 500) {
      const rows = [];
      const emails = [];
      for (let i = start; i < Math.min(users, start + 500); i++) {
        const id = uuidv7();
        const userName = `user${i}@example.com`;
        const data = { userName, name: { givenName: 'User', familyName: String(i) }, emails: [{ value: userName, type: 'work', primary: true }], active: true };
        rows.push({ id, directory_id: dir.id, user_id: null, user_name: userName, user_name_lower: userName, external_id: `ext-${i}`, primary_email_lower: userName, display_name_lower: null, active: true, data: JSON.stringify(data), version: 1, created_at: now, updated_at: now });
        emails.push({ scim_user_id: id, directory_id: dir.id, value_lower: userName, type: 'work', primary: true });
      }
      await db('scim_users').insert(rows);
      await db('scim_user_emails').insert(emails);
    }
    if (db.client.config.client === 'pg') await db.raw('ANALYZE');
    else await db.raw('PRAGMA wal_checkpoint(TRUNCATE)');
  } finally {
    await db.destroy();
  }
  return { url: server.url, token: dir.token, directoryId: dir.id, users };
}

function runClient(plan: RatiosPlan): Promise<{ report: RatiosReport; sync: Record<string, SyncResult> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/autocannon-client.ts')], { cwd: ROOT, env: { ...process.env, HTTP_RATIOS_PLAN: JSON.stringify(plan) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as { report: RatiosReport; sync: Record<string, SyncResult> }) : reject(new Error(`load generator exited ${code}: ${out}`))));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 : 0;
};

export async function run(): Promise<void> {
  const started: Server[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  const bare = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/bare-server.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const bareUrl = await new Promise<string>((resolve) => bare.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    const roots: Array<[string, string]> = [['after', ROOT]];
    if (BEFORE) roots.unshift(['before', BEFORE]);
    const databases = (TEST_DATABASE_URL ? (['sqlite', 'pg'] as const) : (['sqlite'] as const)).filter((d) => !DATABASES || DATABASES.includes(d));
    const single: Record<string, BenchTarget> = {};
    const pairs: Record<string, BenchTarget[]> = {};
    for (const [version, root] of roots) {
      for (const kind of databases) {
        let url: string;
        if (kind === 'pg') {
          const t = await createTestDatabase('postgres');
          await t.db.destroy();
          cleanups.push(() => t.cleanup());
          url = t.url;
        } else url = `sqlite:${join(tempDir('orgsync-ratios-'), 'bench.sqlite')}`;
        const server = await startServer(root, url);
        started.push(server);
        const target = await seed(server, url, USERS);
        const label = `${kind === 'pg' ? 'PostgreSQL' : 'SQLite'} ${version}`;
        single[label] = target;
        if (kind === 'pg') {
          const second = await startServer(root, url);
          started.push(second);
          pairs[`${label}, 2 instances`] = [target, { ...target, url: second.url }];
        }
      }
    }
    const runsOf = (withPairs: boolean): BenchRun[] => [
      ...Object.entries(single).map(([label, t]) => ({ label, targets: [t] })),
      ...(withPairs ? Object.entries(pairs).map(([label, targets]) => ({ label, targets })) : []),
    ];
    const cases = ([
      { key: 'lookup', kind: 'lookup', connections: 10, runs: runsOf(true) },
      { key: 'page', kind: 'page', connections: 10, runs: runsOf(false) },
      { key: 'create-1', kind: 'create', connections: 1, runs: runsOf(false) },
      { key: 'create-10', kind: 'create', connections: 10, runs: runsOf(true) },
    ] satisfies BenchCase[]).filter((c) => !CASES || CASES.includes(c.key));
    const load0 = loadavg()[0]!;
    const { report, sync } = await runClient({ bare: bareUrl, seconds: SECONDS, rounds: ROUNDS, cases, syncUsers: SYNC_USERS, syncTargets: Object.entries(single).map(([label, target]) => ({ label, target })) });
    const load1 = loadavg()[0]!;

    const labels = [...new Set(cases.flatMap((c) => c.runs.map((r) => r.label)))];
    const cell = (rs: RoundResult[] | undefined, create: boolean) => {
      if (!rs) return '';
      const ratio = median(rs.map((r) => r.rps / r.bareRps));
      const errors = rs.reduce((n, r) => n + r.errors, 0);
      const text = create ? `${Math.round(median(rs.map((r) => r.rps)))}/s (${fmt(ratio, 3)})` : fmt(ratio, 3);
      return `${text}${errors ? `, ${errors} errors` : ''}`;
    };
    console.log(`${USERS} users per directory; ${ROUNDS} rounds of ${SECONDS} s per case; load average ${fmt(load0)} → ${fmt(load1)}`);
    console.log(`bare route: ${Math.round(median(Object.values(report).flatMap((byRun) => Object.values(byRun).flat().map((r) => r.bareRps))))} req/s (median of rounds)`);
    console.log(`| workload | ${labels.join(' | ')} |`);
    console.log(`|---|${labels.map(() => '---|').join('')}`);
    const names: Record<string, string> = { lookup: '`GET /Users?filter=userName eq …` (ratio)', page: '`GET /Users?startIndex=1&count=100` (ratio)', 'create-1': 'creates/s, 1 connection (ratio)', 'create-10': 'creates/s, 10 connections (ratio)' };
    for (const c of cases) console.log(`| ${names[c.key]} | ${labels.map((l) => cell(report[c.key]?.[l], c.kind === 'create')).join(' | ')} |`);
    for (const [label, s] of Object.entries(sync)) {
      console.log(`- Entra-pattern initial sync, ${label}: ${s.users} users (lookup + create each, one connection) in ${fmt(s.seconds, 1)} s, ${s.errors} errors; 100,000 users at that pace: ${fmt((s.seconds * 100_000) / s.users / 60, 1)} min`);
      if (s.errors) process.exitCode = 1;
    }
    const errors = Object.values(report).flatMap((byRun) => Object.values(byRun).flat()).reduce((n, r) => n + r.errors, 0);
    if (errors) process.exitCode = 1;
  } finally {
    for (const s of started) await stopProcess(s.child);
    await stopProcess(bare);
    for (const c of cleanups) await c();
  }
}
