/**
 * Login sync server time (SPEC §3, §11: < 20 ms for a user granted 400 organizations). Measures the
 * whole login transaction — domain check, identity, rules, membership writes, sync run, audit and
 * events — in process, for a first login (every membership added) and a repeat login (all
 * unchanged), with 400 and with 5 organizations, on a SQLite file (the default deployment) and,
 * when BENCH_DATABASE_URL is set, on PostgreSQL in a fresh schema of its own (dropped afterwards: the
 * database may be shared). Each login also counts its statements and the time spent waiting on them
 * (knex `query`/`query-response` events; BEGIN and COMMIT until the next statement or the return).
 *
 * - LOGIN_SYNC_BEFORE=<dir> (or HTTP_RATIOS_BEFORE): the same logins through another checkout's code,
 *   on its own database, interleaved round by round with this one: paired before/after numbers.
 * - LOGIN_SYNC_PROFILE=1: also print the statements of one first and one repeat 400-organization login.
 * - LOGIN_SYNC_DATABASES=pg (of sqlite, pg): measure only these.
 * - LOGIN_SYNC_ROUNDS (default 4), LOGIN_SYNC_USERS per round (default 10), each user signing in
 *   once (first) and then LOGIN_SYNC_REPEATS times (default 3).
 *
 * Ratios are against the mean latency of a bare express JSON route measured in the same run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import knexFactory from 'knex';
import type { Container } from '../src/container.js';
import type { LoginService } from '../src/modules/sso/login-service.js';
import type { Connection } from '../src/modules/connections/schema.js';
import type { LoginProfile } from '../src/modules/sso/login-profile.js';
import { fmt, measureBaseline } from './lib/harness.js';

const ROUNDS = Number(process.env.LOGIN_SYNC_ROUNDS ?? 4);
const USERS = Number(process.env.LOGIN_SYNC_USERS ?? 10);
const REPEATS = Number(process.env.LOGIN_SYNC_REPEATS ?? 3);
const BEFORE = process.env.LOGIN_SYNC_BEFORE ?? process.env.HTTP_RATIOS_BEFORE;
const PROFILE = process.env.LOGIN_SYNC_PROFILE === '1';
const PG = process.env.BENCH_DATABASE_URL;

const actor = { type: 'system' as const, id: null };
// The test IdP certificate: the benchmark never validates a SAML response, the connection needs one.
const CERT = readFileSync(new URL('../fixtures/saml/keys/idp-test-only.crt', import.meta.url), 'utf8');

interface Modules {
  loadConfig: typeof import('../src/config/index.js').loadConfig;
  createContainer: typeof import('../src/container.js').createContainer;
  createLogger: typeof import('../src/platform/logger.js').createLogger;
  createLoginService: typeof import('../src/modules/sso/complete-login.js').createLoginService;
}

/** The composition root of a checkout (this one, or the `before` one), imported from its sources. */
async function modulesOf(root: string): Promise<Modules> {
  const load = (p: string) => import(pathToFileURL(join(root, p)).href);
  const [config, container, logger, login] = await Promise.all([load('src/config/index.ts'), load('src/container.ts'), load('src/platform/logger.ts'), load('src/modules/sso/complete-login.ts')]);
  return { loadConfig: config.loadConfig, createContainer: container.createContainer, createLogger: logger.createLogger, createLoginService: login.createLoginService };
}

interface Sample {
  ms: number;
  statements: number;
  waitMs: number;
}

interface Target {
  label: string;
  c: Container;
  login: LoginService;
  conns: { big: Connection; small: Connection };
  next: { big: number; small: number };
  samples: Record<'big-first' | 'big-repeat' | 'small-first' | 'small-repeat', Sample[]>;
  /** Statement counter and wait time, reset around each login. */
  counter: { statements: number; waitMs: number; log: string[] | null; control: { sql: string; at: bigint } | null; settle(): void };
  close(): Promise<void>;
}

const domains = { big: 'big.example', small: 'small.example' } as const;
const profile = (i: number, domain: string): LoginProfile => ({ protocol: 'saml', subject: `user-${i}@${domain}`, email: `user-${i}@${domain}`, emailVerified: null, name: `User ${i}`, givenName: null, familyName: null, groups: ['everyone'], groupsIncomplete: null, externalId: `user-${i}@${domain}`, hostedDomain: null });

async function setup(label: string, root: string, db: 'sqlite' | 'pg'): Promise<Target> {
  const mods = await modulesOf(root);
  const dir = mkdtempSync(join(tmpdir(), 'orgsync-bench-'));
  let url = `sqlite:${join(dir, 'bench.sqlite')}`;
  let dropSchema = async () => {};
  if (db === 'pg') {
    // A schema of its own: the database may be shared with other runs.
    const schema = `bench_login_${randomBytes(5).toString('hex')}`;
    const admin = knexFactory({ client: 'pg', connection: PG, pool: { min: 0, max: 1 } });
    await admin.raw('CREATE SCHEMA ??', [schema]);
    await admin.destroy();
    const u = new URL(PG!);
    u.searchParams.set('options', `-c search_path=${schema}`);
    url = u.toString();
    dropSchema = async () => {
      const a = knexFactory({ client: 'pg', connection: PG, pool: { min: 0, max: 1 } });
      await a.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
      await a.destroy();
    };
  }
  const c = await mods.createContainer({ config: mods.loadConfig({ DATABASE_URL: url, ORGSYNC_SECRET: 'bench-secret-0123456789', LOG_LEVEL: 'silent' }), logger: mods.createLogger('silent') });
  const now = new Date().toISOString();
  const orgs = Array.from({ length: 405 }, (_, i) => ({ id: c.ids.uuid(), name: `bench-${i}`, display_name: `Bench ${i}`, created_at: now, updated_at: now }));
  for (let i = 0; i < orgs.length; i += 100) await c.db('organizations').insert(orgs.slice(i, i + 100));
  const rules = (from: number, to: number) => orgs.slice(from, to).map((o) => ({ organization: o.name, role: 'member' as const, groups: ['everyone'] }));
  const big = await c.connections.create({ name: 'bench-400', type: 'saml', domains: [domains.big], idp: { entity_id: 'urn:bench', sso_url: 'https://idp.bench.example/sso', certificates: [CERT] }, membership_rules: rules(0, 400) }, actor);
  const small = await c.connections.create({ name: 'bench-5', type: 'saml', domains: [domains.small], idp: { entity_id: 'urn:bench5', sso_url: 'https://idp.bench.example/sso', certificates: [CERT] }, membership_rules: rules(400, 405) }, actor);
  const counter: Target['counter'] = {
    statements: 0,
    waitMs: 0,
    log: null,
    control: null,
    settle() {
      if (!this.control) return;
      const ms = Number(process.hrtime.bigint() - this.control.at) / 1e6;
      this.waitMs += ms;
      this.log?.push(`  ${fmt(ms, 3)}  ${this.control.sql} (until the next statement or the end)`);
      this.control = null;
    },
  };
  const starts = new Map<string, bigint>();
  // A transaction's BEGIN and COMMIT (PostgreSQL) have no response event: each is timed until the
  // next statement starts or the login returns (see timedLogin), which is when it has answered.
  type Q = { sql: string; __knexQueryUid?: string; __knexTxId?: string };
  c.db.on('query', (q: Q) => {
    counter.statements++;
    counter.settle();
    if (q.__knexQueryUid) starts.set(q.__knexQueryUid, process.hrtime.bigint());
    else if (q.__knexTxId && /^(BEGIN|COMMIT|ROLLBACK)/.test(q.sql)) counter.control = { sql: q.sql, at: process.hrtime.bigint() };
    else counter.log?.push(`  -      ${q.sql.replace(/\s+/g, ' ').slice(0, 150)}`);
  });
  c.db.on('query-response', (_r: unknown, q: Q) => {
    const s = q.__knexQueryUid ? starts.get(q.__knexQueryUid) : undefined;
    if (s === undefined) return;
    starts.delete(q.__knexQueryUid!);
    const ms = Number(process.hrtime.bigint() - s) / 1e6;
    counter.waitMs += ms;
    counter.log?.push(`  ${fmt(ms, 3)}  ${q.sql.replace(/\s+/g, ' ').slice(0, 150)}`);
  });
  return {
    label,
    c,
    login: mods.createLoginService(c),
    conns: { big: (await c.connections.load(c.db, big.id))!, small: (await c.connections.load(c.db, small.id))! },
    next: { big: 0, small: 0 },
    samples: { 'big-first': [], 'big-repeat': [], 'small-first': [], 'small-repeat': [] },
    counter,
    close: async () => {
      await c.close();
      await dropSchema();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function timedLogin(t: Target, which: 'big' | 'small', i: number, out: Sample[] | null, expectAdded?: number): Promise<void> {
  t.counter.statements = 0;
  t.counter.waitMs = 0;
  const t0 = process.hrtime.bigint();
  const r = await t.login.login(t.conns[which], profile(i, domains[which]));
  t.counter.settle();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (expectAdded !== undefined && r.run.added.length !== expectAdded) throw new Error(`unexpected sync result: ${r.run.added.length} added, expected ${expectAdded}`);
  out?.push({ ms, statements: t.counter.statements, waitMs: t.counter.waitMs });
}

/** `users` new users sign in (first logins), then each signs in `REPEATS` more times. */
async function round(t: Target, which: 'big' | 'small', users: number, record: boolean): Promise<void> {
  const ids = Array.from({ length: users }, () => t.next[which]++);
  const n = t.conns[which].membership_rules.length;
  for (const i of ids) await timedLogin(t, which, i, record ? t.samples[`${which}-first`] : null, n);
  for (let k = 0; k < REPEATS; k++) for (const i of ids) await timedLogin(t, which, i, record ? t.samples[`${which}-repeat`] : null, 0);
}

async function profileOne(t: Target, dbLabel: string): Promise<void> {
  for (const kind of ['first', 'repeat'] as const) {
    const i = kind === 'first' ? t.next.big++ : t.next.big - 1;
    t.counter.log = [];
    await timedLogin(t, 'big', i, null);
    console.log(`\n${dbLabel}, ${t.label}: statements of one ${kind} 400-organization login (ms waiting; '-' = not timed)`);
    for (const line of t.counter.log) console.log(line);
    t.counter.log = null;
  }
}

const stats = (xs: Sample[]) => {
  const s = xs.map((x) => x.ms).sort((a, b) => a - b);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  return {
    n: s.length,
    mean: mean(s),
    p50: s[Math.floor(s.length / 2)] ?? 0,
    p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0,
    statements: mean(xs.map((x) => x.statements)),
    waitMs: mean(xs.map((x) => x.waitMs)),
  };
};

export async function run(): Promise<void> {
  const here = resolve(import.meta.dirname, '..');
  const checkouts: Array<[string, string]> = [['this', here], ...(BEFORE ? [['before', resolve(BEFORE)] as [string, string]] : [])];
  const baseline = await measureBaseline({ concurrency: 1, durationMs: 2000 });
  const baseMs = 1000 / baseline.rps;
  const rows: string[] = [];
  for (const db of (PG ? (['sqlite', 'pg'] as const) : (['sqlite'] as const)).filter((d) => !process.env.LOGIN_SYNC_DATABASES || process.env.LOGIN_SYNC_DATABASES.split(',').includes(d))) {
    const dbLabel = db === 'pg' ? 'PostgreSQL' : 'SQLite file (WAL)';
    const targets: Target[] = [];
    try {
      for (const [label, root] of checkouts) targets.push(await setup(label, root, db));
      // Warm-up: statement caches, JIT, pools.
      for (const t of targets) for (const which of ['big', 'small'] as const) await round(t, which, 2, false);
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate who goes first, so neither always runs right after the other's writes.
        const order = r % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) for (const which of ['big', 'small'] as const) await round(t, which, USERS, true);
      }
      if (PROFILE) for (const t of targets) await profileOne(t, dbLabel);
      for (const t of targets) {
        const cases: Array<[keyof Target['samples'], string, string]> = [
          ['big-first', '400 orgs, first login (400 added)', '< 20 ms'],
          ['big-repeat', '400 orgs, repeat login (400 unchanged)', '< 20 ms'],
          ['small-first', '5 orgs, first login (5 added)', ''],
          ['small-repeat', '5 orgs, repeat login', ''],
        ];
        for (const [key, name, target] of cases) {
          const s = stats(t.samples[key]);
          rows.push(`| ${dbLabel} | ${t.label} | ${name} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.mean)} | ${fmt(s.statements, 1)} | ${fmt(s.waitMs)} | ${fmt(s.mean / baseMs, 1)}x | ${target} |`);
        }
      }
    } finally {
      for (const t of targets) await t.close();
    }
  }
  console.log(`\nbare express JSON route: ${fmt(baseMs, 3)} ms per request (${fmt(baseline.rps, 0)} req/s, one client); load average ${loadavg().map((l) => fmt(l, 2)).join(' ')} on ${availableParallelism()} CPUs`);
  console.log('| database | code | login sync | n | p50 ms | p99 ms | mean ms | statements | ms waiting on statements | ratio to bare route (mean) | target |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}
