/**
 * Mixed load (`npm run bench mixed-load`; MIXED_SECONDS, default 60): a real server process on a
 * SQLite file (or on PostgreSQL when TEST_DATABASE_URL is set), with its webhook worker, takes SCIM
 * creates and PATCHes, management API writes and SAML sign-ins from a load generator in another
 * process (bench/lib/mixed-load-client.ts), which also runs event retention's deletes on the same
 * database and the `orgsync` CLI, all at once. Reports operations, errors and latencies per kind,
 * then checks that every acknowledged write is in the database: 0 errors and 0 lost writes.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fmt } from './lib/harness.js';
import type { MixedPlan, MixedReport } from './lib/mixed-load-client.js';
import { freePort, MAIN_ARGS, ROOT, startMain, stopProcess, tempDir } from '../test/helpers/process.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../test/helpers/db.js';
import { createDb } from '../src/platform/db.js';

const KEY = 'mixed-bench-key-0123456789abcdefghij';
const seconds = Math.max(10, Number(process.env.MIXED_SECONDS ?? 60));

const count = async (q: Promise<Array<{ n: number | string }>>) => Number((await q)[0]?.n ?? 0);

export async function run(): Promise<void> {
  const pg = TEST_DATABASE_URL ? await createTestDatabase('postgres') : undefined;
  if (pg) await pg.db.destroy();
  const databaseUrl = pg?.url ?? `sqlite:${join(tempDir('orgsync-mixed-'), 'mixed.sqlite')}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startMain({ PORT: String(port), PUBLIC_URL: url, DATABASE_URL: databaseUrl, ORGSYNC_BOOTSTRAP_API_KEY: KEY, LOG_LEVEL: 'warn', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', RATE_LIMIT_API_PER_MINUTE: '0', RATE_LIMIT_SCIM_PER_MINUTE: '0', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0' });
  try {
    const plan: MixedPlan = { url, key: KEY, databaseUrl, seconds, root: ROOT };
    const report = await new Promise<MixedReport>((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN_ARGS[0]!, MAIN_ARGS[1]!, join(ROOT, 'bench/lib/mixed-load-client.ts')], { cwd: ROOT, env: { ...process.env, MIXED_PLAN: JSON.stringify(plan) }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as MixedReport) : reject(new Error(`load generator exited ${code}: ${out}`))));
    });

    // Every acknowledged write must be in the database.
    const db = createDb(databaseUrl);
    const lost: string[] = [];
    try {
      const e = report.expected;
      const users = new Set((await db('scim_users').where({ directory_id: report.directoryId }).select<Array<{ user_name: string }>>('user_name')).map((r) => r.user_name));
      const missingUsers = e.scimUsers.filter((u) => !users.has(u));
      if (missingUsers.length) lost.push(`${missingUsers.length} SCIM users`);
      for (const [id, title] of Object.entries(e.titles)) {
        const row = await db('scim_users').where({ id }).first<{ data: string } | undefined>('data');
        if ((JSON.parse(row?.data ?? '{}') as { title?: string }).title !== title) lost.push(`SCIM user ${id} title`);
      }
      for (const [id, name] of Object.entries(e.organizationNames)) {
        const row = await db('organizations').where({ id }).first<{ display_name: string } | undefined>('display_name');
        if (row?.display_name !== name) lost.push(`organization ${id} name`);
        const audited = await count(db('audit_events').where({ organization_id: id, action: 'organization.updated' }).count({ n: '*' }));
        if (audited !== e.renames[id]) lost.push(`organization ${id}: ${e.renames[id]} renames, ${audited} audited`);
      }
      const cli = await count(db('organizations').whereIn('name', e.cliOrganizations.length ? e.cliOrganizations : ['-']).count({ n: '*' }));
      if (cli !== e.cliOrganizations.length) lost.push(`${e.cliOrganizations.length - cli} CLI organizations`);
      const runs = await count(db('sync_runs').where({ trigger: 'login' }).count({ n: '*' }));
      if (runs !== e.logins) lost.push(`${e.logins} sign-ins, ${runs} login sync runs`);
      const delivered = await count(db('webhook_deliveries').where({ status: 'delivered' }).count({ n: '*' }));
      // Retention may have deleted delivered rows older than its window: never more received than recorded plus pruned.
      if (delivered > e.deliveriesReceived) lost.push(`${delivered} deliveries recorded as delivered, ${e.deliveriesReceived} received`);
    } finally {
      await db.destroy();
    }

    const kinds = Object.entries(report.kinds);
    const total = kinds.reduce((n, [, k]) => n + k.ok + k.errors, 0);
    const errors = kinds.reduce((n, [, k]) => n + k.errors, 0);
    console.log(`${seconds} s on ${pg ? 'PostgreSQL' : 'a SQLite file'}: SCIM, management API, SAML sign-ins, webhook delivery, event retention and CLI processes at once`);
    console.log('| kind | operations | errors | p50 ms | p99 ms |');
    console.log('|---|---|---|---|---|');
    for (const [name, k] of kinds) console.log(`| ${name} | ${k.ok + k.errors} | ${k.errors} | ${fmt(k.p50)} | ${fmt(k.p99)} |`);
    console.log(`| all | ${total} | ${errors} | | |`);
    console.log(`- webhook deliveries received: ${report.expected.deliveriesReceived}; events deleted by retention: ${report.expected.eventsPruned}`);
    console.log(`- lost writes: ${lost.length === 0 ? 0 : lost.join('; ')}`);
    for (const [name, k] of kinds) for (const f of k.failures) console.log(`  ${name} failed: ${f}`);
    if (errors || lost.length) {
      process.exitCode = 1;
      // What the server logged about its failures (LOG_LEVEL=warn: errors and warnings only).
      for (const line of server.output().split('\n').filter((l) => l.includes('"level":50') || l.includes('"level":40')).slice(-10)) console.log(`  server: ${line.slice(0, 600)}`);
    }
  } finally {
    await stopProcess(server.child);
    await pg?.cleanup();
  }
}
