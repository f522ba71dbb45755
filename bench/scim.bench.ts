/**
 * SCIM server benchmark (SPEC §11), on loopback against a file-backed SQLite database:
 * filter lookups at 1k/10k/100k users, a 100-user page at 100k, sequential creates, a 10,000-member
 * group PATCH, one-member PATCHes on a 100,000-member group vs a 10-member group, and an Entra-style
 * initial sync. Users and members are seeded by bulk insert, not over HTTP. Each case's ratio is
 * against a bare express JSON route measured alongside it, round by round (the machine's speed drifts).
 */
import { Agent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fmt, load, measureBaseline, paired, printPaired, type LoadOptions, type LoadResult, type PairedResult } from './lib/harness.js';
import { loadConfig } from '../src/config/index.js';
import { createContainer, type Container } from '../src/container.js';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/platform/logger.js';
import { uuidv7 } from '../src/platform/ids.js';
import { inTransaction } from '../src/platform/transaction.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6) * 1000;
const CONCURRENCY = 8;

interface Target {
  url: string;
  token: string;
  directoryId: string;
}

async function seedDirectory(c: Container, name: string): Promise<Target & { connectionId: string }> {
  const connectionId = randomUUID();
  const now = new Date().toISOString();
  await c.db('connections').insert({ id: connectionId, name, type: 'saml', idp: '{}', attribute_mapping: '{}', created_at: now, updated_at: now });
  const d = await c.directories.create({ connection_id: connectionId, name }, { type: 'system', id: null });
  return { url: '', token: d.token, directoryId: d.id, connectionId };
}

/** Inserts users `from`..`to`-1 (`user{i}@example.com`) straight into the tables, in chunks. */
async function seedUsers(c: Container, directoryId: string, from: number, to: number, prefix = 'user'): Promise<string[]> {
  const ids: string[] = [];
  const now = new Date().toISOString();
  await inTransaction(c.db, async (trx) => {
    for (let start = from; start < to; start += 400) {
      const users = [];
      const emails = [];
      for (let i = start; i < Math.min(to, start + 400); i++) {
        const id = uuidv7();
        const userName = `${prefix}${i}@example.com`;
        const data = { userName, name: { givenName: 'User', familyName: String(i) }, emails: [{ value: userName, type: 'work', primary: true }], active: true };
        users.push({ id, directory_id: directoryId, user_id: null, user_name: userName, user_name_lower: userName, external_id: `ext-${prefix}${i}`, primary_email_lower: userName, display_name_lower: null, active: true, data: JSON.stringify(data), version: 1, created_at: now, updated_at: now });
        emails.push({ scim_user_id: id, directory_id: directoryId, value_lower: userName, type: 'work', primary: true });
        ids.push(id);
      }
      await trx('scim_users').insert(users);
      await trx('scim_user_emails').insert(emails);
    }
  });
  await settle(c);
  return ids;
}

/** Bulk seeding leaves tens of MB in the WAL; checkpoint it now so the background checkpoint does not run during a measurement. */
async function settle(c: Container): Promise<void> {
  await c.db.raw('PRAGMA wal_checkpoint(TRUNCATE)');
}

async function seedGroup(c: Container, directoryId: string, name: string, members: string[]): Promise<string> {
  const id = uuidv7();
  const now = new Date().toISOString();
  await c.db('scim_groups').insert({ id, directory_id: directoryId, display_name: name, display_name_lower: name.toLowerCase(), external_id: null, data: JSON.stringify({ displayName: name }), version: 1, created_at: now, updated_at: now });
  for (let i = 0; i < members.length; i += 500) {
    await c.db('scim_group_members').insert(members.slice(i, i + 500).map((m) => ({ group_id: id, scim_user_id: m, directory_id: directoryId, added_at: now })));
  }
  await settle(c);
  return id;
}

/** One keep-alive HTTP exchange with a JSON body. */
function call(agent: Agent, base: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; text: string }> {
  const u = new URL(base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path, method, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', ...(payload ? { 'content-length': Buffer.byteLength(payload) } : {}) } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Requests whose body changes each time, from `concurrency` clients for `durationMs`. */
async function loadVarying(base: string, token: string, make: (i: number) => { method: string; path: string; body?: unknown }, expect: number, concurrency: number, durationMs: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const deadline = Date.now() + durationMs;
  const lat: number[] = [];
  let i = 0;
  let errors = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const r = make(i++);
        const s = process.hrtime.bigint();
        const res = await call(agent, base, r.method, r.path, token, r.body);
        lat.push(Number(process.hrtime.bigint() - s) / 1e6);
        if (res.status !== expect) errors++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0;
  return { requests: lat.length, errors, seconds, rps: lat.length / seconds, p50ms: pct(0.5), p99ms: pct(0.99) };
}

const filterPath = (dir: string, n: number) => (i: number) => `/scim/v2/${dir}/Users?filter=${encodeURIComponent(`userName eq "user${(i * 7919) % n}@example.com"`)}`;

/**
 * An Entra-style initial sync (SPEC §11): for each user a `userName eq` lookup that finds nothing,
 * then the create, one user at a time. Returns the seconds it took for `n` users.
 */
async function initialSync(base: string, target: Target, n: number, prefix: string): Promise<{ seconds: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let errors = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const userName = `${prefix}${i}@example.com`;
    const found = await call(agent, base, 'GET', `/scim/v2/${target.directoryId}/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, target.token);
    if (found.status !== 200 || !found.text.includes('"totalResults":0')) errors++;
    const created = await call(agent, base, 'POST', `/scim/v2/${target.directoryId}/Users`, target.token, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName,
      externalId: `${prefix}-${i}`,
      name: { givenName: 'Synced', familyName: String(i) },
      emails: [{ value: userName, type: 'work', primary: true }],
      active: 'True',
    });
    if (created.status !== 201) errors++;
  }
  agent.destroy();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, errors };
}

export async function run(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'orgsync-scim-bench-'));
  const config = loadConfig({ DATABASE_URL: `sqlite:${join(dataDir, 'bench.sqlite')}`, LOG_LEVEL: 'silent', ORGSYNC_SECRET: 'bench-secret-0123456789', RATE_LIMIT_SCIM_PER_MINUTE: '10000000' });
  const c = await createContainer({ config, logger: createLogger('silent') });
  const server: Server = await new Promise((resolve) => {
    const s = createApp(c).listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const bare = (concurrency: number): LoadOptions => ({ concurrency, durationMs: SECONDS });
  try {
    const rows: PairedResult[] = [];
    const dir = await seedDirectory(c, 'bench-filter');
    const auth = { authorization: `Bearer ${dir.token}` };
    const filterAt: Record<number, PairedResult> = {};
    let seeded = 0;
    let allIds: string[] = [];
    for (const n of [1_000, 10_000, 100_000]) {
      allIds = allIds.concat(await seedUsers(c, dir.directoryId, seeded, n));
      seeded = n;
      if (n === 1_000) {
        // Warm-up, not measured: the first case would otherwise also time the JIT compiling both routes.
        await measureBaseline({ concurrency: CONCURRENCY, durationMs: 1000 });
        await load(base, '', { headers: auth, concurrency: CONCURRENCY, durationMs: 1000, path: filterPath(dir.directoryId, n) });
      }
      filterAt[n] = await paired(
        `GET /Users?filter=userName eq … (${n.toLocaleString('en')} users)`,
        (ms) => load(base, '', { headers: auth, concurrency: CONCURRENCY, durationMs: ms, path: filterPath(dir.directoryId, n) }),
        bare(CONCURRENCY),
        n === 100_000 ? '≥ 0.50, flat' : undefined,
      );
      rows.push(filterAt[n]!);
    }
    const pagePath = `/scim/v2/${dir.directoryId}/Users?startIndex=1&count=100`;
    const check = JSON.parse((await call(new Agent(), base, 'GET', pagePath, dir.token)).text) as { totalResults: number; Resources: unknown[] };
    if (check.totalResults !== 100_000 || check.Resources.length !== 100) throw new Error(`page check failed: ${check.totalResults}/${check.Resources.length}`);
    rows.push(await paired('GET /Users?startIndex=1&count=100 (100,000 users; totalResults checked)', (ms) => load(base, pagePath, { headers: auth, concurrency: CONCURRENCY, durationMs: ms }), bare(CONCURRENCY), '≥ 0.15'));

    // One-member PATCH (add, then remove, alternating) on a 100,000-member group vs a 10-member group.
    const extra = await seedUsers(c, dir.directoryId, 0, 1000, 'outsider');
    const big = await seedGroup(c, dir.directoryId, 'everyone', allIds);
    const small = await seedGroup(c, dir.directoryId, 'ten', allIds.slice(0, 10));
    let patchCount = 0;
    const onePatch = (group: string) => (_i: number) => {
      const i = patchCount++;
      return {
      method: 'PATCH',
      path: `/scim/v2/${dir.directoryId}/Groups/${group}`,
        body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: Math.floor(i / extra.length) % 2 === 0 ? 'add' : 'remove', path: 'members', value: [{ value: extra[i % extra.length] }] }] },
      };
    };
    patchCount = 0;
    const patchSmall = await paired('PATCH one member, 10-member group', (ms) => loadVarying(base, dir.token, onePatch(small), 204, 4, ms), bare(4));
    patchCount = 0;
    const patchBig = await paired('PATCH one member, 100,000-member group', (ms) => loadVarying(base, dir.token, onePatch(big), 204, 4, ms), bare(4), 'same cost as 10-member');
    rows.push(patchSmall, patchBig);

    // Sequential creates (one client, like an IdP's initial sync).
    const created = await seedDirectory(c, 'bench-create');
    let createCount = 0;
    const creates = await paired(
      'POST /Users, sequential (one client)',
      (ms) => loadVarying(base, created.token, () => { const i = createCount++; return { method: 'POST', path: `/scim/v2/${created.directoryId}/Users`, body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `new${i}@example.com`, externalId: `n-${i}`, name: { givenName: 'New', familyName: String(i) }, emails: [{ value: `new${i}@example.com`, type: 'work', primary: true }], active: true } }; }, 201, 1, ms),
      bare(1),
      '≥ 1,000/s',
    );
    rows.push(creates);

    // One request adding 10,000 members to an empty group.
    const tenK = await seedGroup(c, dir.directoryId, 'ten-thousand', []);
    const t0 = process.hrtime.bigint();
    const added = await call(new Agent(), base, 'PATCH', `/scim/v2/${dir.directoryId}/Groups/${tenK}`, dir.token, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'add', path: 'members', value: allIds.slice(0, 10_000).map((value) => ({ value })) }],
    });
    const patchMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const members = await c.db('scim_group_members').where({ group_id: tenK }).count<Array<{ n: number }>>({ n: '*' });
    if (added.status !== 204 || Number(members[0]?.n) !== 10_000) throw new Error(`10k PATCH failed: ${added.status} ${added.text.slice(0, 200)}`);

    // Entra-style initial sync: the last 10,000 of 100,000 users (90,000 already there), or all of them.
    const full = process.env.BENCH_FULL_SYNC === '1';
    const syncDir = await seedDirectory(c, 'bench-initial-sync');
    if (!full) await seedUsers(c, syncDir.directoryId, 0, 90_000, 'presynced');
    const syncN = full ? 100_000 : 10_000;
    const sync = await initialSync(base, syncDir, syncN, 'synced');
    const projected = (sync.seconds * 100_000) / syncN;

    printPaired(rows);
    console.log('');
    console.log(`- filter flatness, 100k vs 1k users: ${fmt(filterAt[100_000]!.result.rps / filterAt[1_000]!.result.rps)} by throughput, ${fmt(filterAt[100_000]!.ratio / filterAt[1_000]!.ratio)} by ratio to the bare route (1.00 = flat)`);
    console.log(`- one-member PATCH, 100k-member group vs 10-member group: ${fmt(patchBig.ratio / patchSmall.ratio)} (1.00 = same cost)`);
    console.log(`- creates: ${fmt(creates.result.rps, 0)}/s sequential (target ≥ 1,000/s)`);
    console.log(`- PATCH adding 10,000 members in one request: ${fmt(patchMs, 0)} ms (target < 1,000 ms)`);
    console.log(
      full
        ? `- Entra-style initial sync of 100,000 users (GET filter + POST each): ${fmt(sync.seconds, 1)} s, ${sync.errors} errors (target < 180 s)`
        : `- Entra-style initial sync (GET filter + POST each), users 90,001-100,000: ${fmt(sync.seconds, 1)} s, ${sync.errors} errors; 100,000 at that pace: ${fmt(projected, 0)} s (target < 180 s; BENCH_FULL_SYNC=1 runs all of them)`,
    );
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await c.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
