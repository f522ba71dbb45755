/**
 * Login sync server time (SPEC §3, §11: < 20 ms for a user granted 400 organizations). Measures the
 * whole login transaction — domain check, identity, rules, membership writes, sync run, audit and
 * events — in process on a file-backed SQLite database (the default deployment), for a first login
 * (every membership added) and a repeat login (all unchanged), with 400 and with 5 organizations.
 * Ratios are against the mean latency of a bare express JSON route measured in the same run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { createContainer } from '../src/container.js';
import { createLogger } from '../src/platform/logger.js';
import { createLoginService } from '../src/modules/sso/complete-login.js';
import type { LoginProfile } from '../src/modules/sso/login-profile.js';
import { fmt, measureBaseline } from './lib/harness.js';

const actor = { type: 'system' as const, id: null };
// The test IdP certificate: the benchmark never validates a SAML response, the connection needs one.
const CERT = readFileSync(new URL('../fixtures/saml/keys/idp-test-only.crt', import.meta.url), 'utf8');

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: s[Math.floor(s.length / 2)]!, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! };
};

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'orgsync-bench-'));
  const url = process.env.BENCH_DATABASE_URL ?? `sqlite:${join(dir, 'bench.sqlite')}`;
  const c = await createContainer({ config: loadConfig({ DATABASE_URL: url, ORGSYNC_SECRET: 'bench-secret-0123456789', LOG_LEVEL: 'silent' }), logger: createLogger('silent') });
  try {
    const now = new Date().toISOString();
    const orgs = Array.from({ length: 405 }, (_, i) => ({ id: c.ids.uuid(), name: `bench-${i}`, display_name: `Bench ${i}`, created_at: now, updated_at: now }));
    for (let i = 0; i < orgs.length; i += 100) await c.db('organizations').insert(orgs.slice(i, i + 100));
    const rules = (from: number, to: number) => orgs.slice(from, to).map((o) => ({ organization: o.name, role: 'member' as const, groups: ['everyone'] }));
    const big = await c.connections.create({ name: 'bench-400', type: 'saml', domains: ['big.example'], idp: { entity_id: 'urn:bench', sso_url: 'https://idp.bench.example/sso', certificates: [CERT] }, membership_rules: rules(0, 400) }, actor);
    const small = await c.connections.create({ name: 'bench-5', type: 'saml', domains: ['small.example'], idp: { entity_id: 'urn:bench5', sso_url: 'https://idp.bench.example/sso', certificates: [CERT] }, membership_rules: rules(400, 405) }, actor);
    const login = createLoginService(c);
    const profile = (i: number, domain: string): LoginProfile => ({ protocol: 'saml', subject: `user-${i}@${domain}`, email: `user-${i}@${domain}`, emailVerified: null, name: `User ${i}`, givenName: null, familyName: null, groups: ['everyone'], groupsIncomplete: null, externalId: `user-${i}@${domain}`, hostedDomain: null });

    const baseline = await measureBaseline({ concurrency: 1, durationMs: 2000 });
    const baseMs = 1000 / baseline.rps;
    const measure = async (connId: string, domain: string, users: number, repeats: number) => {
      const conn = (await c.connections.load(c.db, connId))!;
      const first: number[] = [];
      const repeat: number[] = [];
      for (let i = 0; i < users; i++) {
        const t0 = process.hrtime.bigint();
        const r = await login.login(conn, profile(i, domain));
        first.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (r.run.added.length !== conn.membership_rules.length) throw new Error('unexpected sync result');
      }
      for (let k = 0; k < repeats; k++) {
        for (let i = 0; i < users; i++) {
          const t0 = process.hrtime.bigint();
          await login.login(conn, profile(i, domain));
          repeat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }
      return { first: stats(first.slice(2)), repeat: stats(repeat) };
    };
    const r400 = await measure(big.id, 'big.example', 25, 4);
    const r5 = await measure(small.id, 'small.example', 25, 4);
    console.log(`database: ${url.startsWith('sqlite:') ? 'SQLite file (WAL)' : 'PostgreSQL'}; bare express JSON route: ${fmt(baseMs, 3)} ms per request (${fmt(baseline.rps, 0)} req/s, one client); load average ${fmt(loadavg()[0]!, 1)} on ${availableParallelism()} CPUs`);
    console.log('| login sync | mean ms | p50 ms | p99 ms | ratio to bare route (mean) | target |');
    console.log('|---|---|---|---|---|---|');
    const row = (name: string, s: ReturnType<typeof stats>, target = '') => console.log(`| ${name} | ${fmt(s.mean)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.mean / baseMs, 1)}x | ${target} |`);
    row('400 organizations, first login (400 added)', r400.first, '< 20 ms');
    row('400 organizations, repeat login (400 unchanged)', r400.repeat, '< 20 ms');
    row('5 organizations, first login (5 added)', r5.first);
    row('5 organizations, repeat login', r5.repeat);
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
