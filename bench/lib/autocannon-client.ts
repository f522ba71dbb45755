/**
 * The load generator of `npm run bench http-ratios`, in a process of its own (so neither the server
 * nor the bare route shares its event loop): autocannon against the servers named in the plan
 * (`HTTP_RATIOS_PLAN`, JSON), each case in rounds that alternate with the bare express route.
 * Prints one JSON line with every round's numbers.
 */
import http from 'node:http';
import autocannon from 'autocannon';

export interface BenchTarget {
  url: string;
  token: string;
  directoryId: string;
  /** Users `user0@example.com` … seeded in the directory (lookups pick among them). */
  users: number;
}

export type CaseKind = 'lookup' | 'page' | 'create';

export interface BenchRun {
  label: string;
  /** Several targets (instances sharing one database) are loaded at once, the connections split among them. */
  targets: BenchTarget[];
}

export interface BenchCase {
  key: string;
  kind: CaseKind;
  connections: number;
  runs: BenchRun[];
}

export interface RatiosPlan {
  bare: string;
  seconds: number;
  rounds: number;
  cases: BenchCase[];
  /** Entra-pattern initial sync of this many users per target (0: none). */
  syncUsers: number;
  syncTargets: Array<{ label: string; target: BenchTarget }>;
}

export interface RoundResult {
  rps: number;
  bareRps: number;
  /** Responses with another status than the case expects, plus connection errors and timeouts. */
  errors: number;
  p50: number;
  p99: number;
}

export type RatiosReport = Record<string, Record<string, RoundResult[]>>;

export interface SyncResult {
  users: number;
  seconds: number;
  errors: number;
}

/**
 * An Entra-style initial sync on one connection: for each user a `userName eq` lookup that finds
 * nothing, then the create (booleans as strings, as Entra sends them).
 */
async function initialSync(t: BenchTarget, n: number, tag: string): Promise<SyncResult> {
  // node:http on one kept-alive socket, as an IdP's provisioning client holds one: fetch's own
  // overhead (about a millisecond a request here) would otherwise weigh as much as the server's work.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(t.url);
  const send = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        { agent, host: target.hostname, port: target.port, method, path, headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/scim+json', ...(body ? { 'content-length': Buffer.byteLength(body) } : {}) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const users = `/scim/v2/${t.directoryId}/Users`;
  let errors = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const userName = `sync-${tag}-${i}@example.com`;
    const found = await send('GET', `${users}?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    if (found.status !== 200 || !found.text.includes('"totalResults":0')) errors++;
    const created = await send(
      'POST',
      users,
      JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, externalId: `${tag}-${i}`, name: { givenName: 'Synced', familyName: String(i) }, emails: [{ value: userName, type: 'work', primary: true }], active: 'True' }),
    );
    if (created.status !== 201) errors++;
  }
  agent.destroy();
  return { users: n, seconds: Number(process.hrtime.bigint() - t0) / 1e9, errors };
}

const expected: Record<CaseKind, number> = { lookup: 200, page: 200, create: 201 };
let createCounter = 0;

function options(kind: CaseKind, t: BenchTarget, connections: number, seconds: number, tag: string): autocannon.Options {
  const headers = { authorization: `Bearer ${t.token}`, 'content-type': 'application/scim+json' };
  const base = { url: t.url, connections, duration: seconds, pipelining: 1, headers };
  const users = `/scim/v2/${t.directoryId}/Users`;
  if (kind === 'page') return { ...base, requests: [{ method: 'GET', path: `${users}?startIndex=1&count=100` }] };
  if (kind === 'lookup') {
    let i = 0;
    return {
      ...base,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `${users}?filter=${encodeURIComponent(`userName eq "user${(i++ * 7919) % t.users}@example.com"`)}` }) }],
    };
  }
  return {
    ...base,
    requests: [
      {
        method: 'POST',
        path: users,
        setupRequest: (req) => {
          const userName = `bench-${tag}-${createCounter++}@example.com`;
          return {
            ...req,
            body: JSON.stringify({
              schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
              userName,
              externalId: userName,
              name: { givenName: 'Bench', familyName: String(createCounter) },
              emails: [{ value: userName, type: 'work', primary: true }],
              active: true,
            }),
          };
        },
      },
    ],
  };
}

const runOnce = (o: autocannon.Options) =>
  new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(o, (err, result) => (err ? reject(err) : resolve(result)));
  });

async function measure(kind: CaseKind, run: BenchRun, connections: number, seconds: number, tag: string): Promise<Omit<RoundResult, 'bareRps'>> {
  const per = Math.max(1, Math.floor(connections / run.targets.length));
  const results = await Promise.all(
    run.targets.map((t, i) => {
      const o = options(kind, t, per, seconds, `${tag}-${i}`);
      // Count wrong statuses ourselves: `non2xx` misses a 200 where a create expects 201.
      let wrong = 0;
      return new Promise<autocannon.Result & { wrong: number }>((resolve, reject) => {
        const instance = autocannon(o, (err, result) => (err ? reject(err) : resolve({ ...result, wrong })));
        instance.on('response', (_client: unknown, status: number) => {
          if (status !== expected[kind]) wrong++;
        });
      });
    }),
  );
  // A page counts only with the right totalResults: one page per target, read after the round (the
  // pages run before any create, so the directory holds the seeded users).
  let wrongPages = 0;
  if (kind === 'page') for (const t of run.targets) if (!(await pageIsRight(t))) wrongPages++;
  return {
    rps: results.reduce((n, r) => n + r.requests.total / r.duration, 0),
    errors: results.reduce((n, r) => n + r.wrong + r.errors + r.timeouts, 0) + wrongPages,
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
  };
}

/** The first page of 100: `totalResults` the seeded users, 100 of them listed. */
async function pageIsRight(t: BenchTarget): Promise<boolean> {
  const res = await fetch(`${t.url}/scim/v2/${t.directoryId}/Users?startIndex=1&count=100`, { headers: { authorization: `Bearer ${t.token}` } });
  if (res.status !== 200) return false;
  const body = (await res.json()) as { totalResults?: number; itemsPerPage?: number; Resources?: unknown[] };
  return body.totalResults === t.users && body.itemsPerPage === Math.min(100, t.users) && body.Resources?.length === body.itemsPerPage;
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.env.HTTP_RATIOS_PLAN ?? '') as RatiosPlan;
  const report: RatiosReport = {};
  const stamp = Date.now().toString(36);
  // Warm-up: every server's JIT and connection pools, and the bare route.
  await runOnce({ url: `${plan.bare}/json`, connections: 10, duration: 1 });
  for (const c of plan.cases) for (const r of c.runs) await measure(c.kind === 'create' ? 'lookup' : c.kind, r, c.connections, 1, 'warm');
  for (const c of plan.cases) {
    const byRun: Record<string, RoundResult[]> = (report[c.key] = {});
    for (let round = 0; round < plan.rounds; round++) {
      const bare = await runOnce({ url: `${plan.bare}/json`, connections: 10, duration: plan.seconds });
      const bareRps = bare.requests.total / bare.duration;
      // Alternate which run goes first, so neither always follows the bare route.
      const runs = round % 2 === 0 ? c.runs : [...c.runs].reverse();
      for (const r of runs) {
        const m = await measure(c.kind, r, c.connections, plan.seconds, `${stamp}-${c.key}-${r.label.replace(/\W+/g, '_')}-${round}`);
        (byRun[r.label] ??= []).push({ ...m, bareRps });
      }
    }
  }
  const sync: Record<string, SyncResult> = {};
  if (plan.syncUsers > 0) for (const s of plan.syncTargets) sync[s.label] = await initialSync(s.target, plan.syncUsers, `${stamp}-${s.label.replace(/\W+/g, '_')}`);
  process.stdout.write(`${JSON.stringify({ report, sync })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
