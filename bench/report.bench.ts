/**
 * Sync report at 100,000 members / 10,000 flagged in one organization (SPEC §11): JSON report time
 * (target < 1 s), CSV streaming of every member with the server's RSS sampled before, during and
 * after (flat), and the removal of all 10,000 flagged members in one request. Ratios are against a
 * bare express JSON route measured in the same run. SQLite file by default; set
 * BENCH_DATABASE_URL=postgres://… to run on PostgreSQL (a fresh schema is created and dropped).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import knexFactory from 'knex';
import { loadConfig } from '../src/config/index.js';
import { createContainer } from '../src/container.js';
import { createApp } from '../src/app.js';
import { createDb, type Db } from '../src/platform/db.js';
import { createLogger } from '../src/platform/logger.js';
import { ALL_SCOPES } from '../src/http/scopes.js';
import { fmt, load, measureBaseline } from './lib/harness.js';
import { inTransaction } from '../src/platform/transaction.js';

const MEMBERS = 100_000;
const FLAGGED = 10_000;

async function database(): Promise<{ db: Db; url: string; cleanup: () => Promise<void> }> {
  const pg = process.env.BENCH_DATABASE_URL;
  if (pg) {
    const schema = `bench_${randomUUID().slice(0, 8)}`;
    const admin = knexFactory({ client: 'pg', connection: pg });
    await admin.raw('CREATE SCHEMA ??', [schema]);
    const db = createDb(pg, { searchPath: schema });
    return {
      db,
      url: pg,
      cleanup: async () => {
        await db.destroy();
        await admin.raw('DROP SCHEMA ?? CASCADE', [schema]);
        await admin.destroy();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'orgsync-report-bench-'));
  const url = `sqlite:${join(dir, 'bench.sqlite')}`;
  const db = createDb(url);
  return { db, url, cleanup: async () => { await db.destroy(); rmSync(dir, { recursive: true, force: true }); } };
}

async function seed(db: Db): Promise<void> {
  const at = '2026-01-01T00:00:00.000Z';
  const connId = randomUUID();
  await db('connections').insert({ id: connId, name: 'bench-okta', type: 'saml', idp: '{}', attribute_mapping: '{}', created_at: at, updated_at: at });
  await db('organizations').insert({ id: randomUUID(), name: 'big', display_name: 'Big', connection_id: connId, created_at: at, updated_at: at });
  const orgId = (await db('organizations').where({ name: 'big' }).first<{ id: string }>('id')).id;
  const evidence = JSON.stringify({ channel: 'scim', action: 'PATCH active=false', at, directory_id: randomUUID() });
  const reasons = ['idp_deactivated', 'idp_deleted', 'idp_group_removed', 'not_in_directory'];
  for (let i = 0; i < MEMBERS; i += 1000) {
    const users: Array<Record<string, unknown>> = [];
    const memberships: Array<Record<string, unknown>> = [];
    for (let j = i; j < i + 1000; j++) {
      const id = randomUUID();
      const email = `user${j}@big.example.com`;
      users.push({ id, email, email_lower: email, name: j % 97 === 0 ? `=HYPERLINK("x") ${j}` : `User, "${j}"`, created_at: at, updated_at: at });
      const flagged = j % (MEMBERS / FLAGGED) === 0;
      memberships.push({
        organization_id: orgId,
        user_id: id,
        role: 'member',
        source: 'sso',
        status: flagged ? 'flagged' : 'active',
        flagged_reason: flagged ? reasons[j % 4] : null,
        flagged_at: flagged ? new Date(Date.parse(at) + j * 1000).toISOString() : null,
        flag_evidence: flagged ? evidence : null,
        joined_at: at,
      });
    }
    await inTransaction(db, async (trx) => {
      for (let k = 0; k < 1000; k += 250) {
        await trx('users').insert(users.slice(k, k + 250));
        await trx('memberships').insert(memberships.slice(k, k + 250));
      }
    });
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

const mb = (bytes: number) => `${fmt(bytes / 1024 / 1024, 0)} MB`;

export async function run(): Promise<void> {
  const baseline = await measureBaseline({ durationMs: 2000, concurrency: 4 });
  const { db, url, cleanup } = await database();
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent', ORGSYNC_SECRET: 'bench-secret-0123456789', RATE_LIMIT_API_PER_MINUTE: '0' });
  const c = await createContainer({ config, db, logger: createLogger('silent') });
  const server: Server = await new Promise((resolve) => {
    const s = createApp(c).listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const key = (await c.apiKeys.create({ name: 'bench', scopes: [...ALL_SCOPES] }, { type: 'system', id: null })).key;
    const headers = { authorization: `Bearer ${key}` };
    const [, seedMs] = await timed(() => seed(db));
    console.log(`database: ${process.env.BENCH_DATABASE_URL ? 'PostgreSQL' : 'SQLite (file)'}; seeded ${MEMBERS} members / ${FLAGGED} flagged in ${fmt(seedMs / 1000, 1)} s`);

    // JSON report: single requests, best and median of 5 (the first warms caches).
    const times: number[] = [];
    let flaggedListed = 0;
    for (let i = 0; i < 5; i++) {
      const [body, ms] = await timed(async () => (await fetch(`${base}/api/v1/organizations/big/sync-report`, { headers })).json() as Promise<{ flagged: unknown[]; summary: { active: number; flagged: number } }>);
      times.push(ms);
      flaggedListed = body.flagged.length;
      if (body.summary.active !== MEMBERS - FLAGGED || body.summary.flagged !== FLAGGED) throw new Error('wrong counts');
    }
    const sorted = [...times].sort((a, b) => a - b);
    const report = await load(base, '/api/v1/organizations/big/sync-report', { headers, durationMs: 3000, concurrency: 2 });
    const summary = await load(base, '/api/v1/sync-report', { headers, durationMs: 2000, concurrency: 4 });
    const page = await load(base, '/api/v1/organizations/big/members?status=flagged&take=100', { headers, durationMs: 2000, concurrency: 4 });

    // CSV of every member, with the server's RSS sampled every 20 ms while it streams.
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const [csv, csvMs] = await timed(async () => {
      const res = await fetch(`${base}/api/v1/organizations/big/sync-report?format=csv&status=all`, { headers });
      let bytes = 0;
      let rows = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        for (const b of chunk) if (b === 10) rows++;
      }
      return { bytes, rows };
    });
    clearInterval(sampler);
    const rssAfter = process.memoryUsage().rss;
    if (csv.rows !== MEMBERS + 1) throw new Error(`CSV had ${csv.rows} lines`);

    const [, deleteMs] = await timed(async () => {
      const r = await fetch(`${base}/api/v1/organizations/big/members?status=flagged`, { method: 'DELETE', headers });
      if (r.status !== 204) throw new Error(`DELETE flagged → ${r.status}`);
    });

    console.log('| measure | result | ratio to bare route | target |');
    console.log('|---|---|---|---|');
    console.log(`| bare express JSON route | ${fmt(baseline.rps, 0)} req/s | 1.00 | |`);
    console.log(`| JSON report, one request (median of 5 / best) | ${fmt(sorted[2]!, 0)} ms / ${fmt(sorted[0]!, 0)} ms (${flaggedListed} flagged listed) | | < 1000 ms |`);
    console.log(`| JSON report under load (2 clients) | ${fmt(report.rps, 1)} req/s, p99 ${fmt(report.p99ms, 0)} ms | ${fmt(report.rps / baseline.rps, 4)} | |`);
    console.log(`| all-organizations summary | ${fmt(summary.rps, 0)} req/s | ${fmt(summary.rps / baseline.rps, 3)} | |`);
    console.log(`| members?status=flagged&take=100 | ${fmt(page.rps, 0)} req/s | ${fmt(page.rps / baseline.rps, 3)} | |`);
    console.log(`| CSV, all ${MEMBERS} members | ${fmt(csvMs, 0)} ms, ${mb(csv.bytes)} | | flat memory |`);
    console.log(`| server RSS before / peak during / after CSV | ${mb(rssBefore)} / ${mb(peak)} / ${mb(rssAfter)} (peak +${mb(peak - rssBefore)} for a ${mb(csv.bytes)} file) | | |`);
    console.log(`| DELETE …/members?status=flagged (${FLAGGED} members, one transaction) | ${fmt(deleteMs, 0)} ms | | |`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await cleanup();
  }
}
