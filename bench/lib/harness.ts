/**
 * Shared benchmark tools: a bare express JSON route as the baseline, and a bounded keep-alive
 * HTTP load loop on loopback. Results are reported as ratios against the baseline of the same run.
 */
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
}

export interface LoadOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  concurrency?: number;
  durationMs?: number;
  /** Stops after this many requests even if time remains. */
  maxRequests?: number;
  /** Called per request to vary the path (e.g. a different user each time). */
  path?: (i: number) => string;
  expectStatus?: number;
}

/** Sends requests from `concurrency` keep-alive clients for `durationMs`; loopback only. */
export async function load(baseUrl: string, fixedPath: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const url = new URL(baseUrl);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error('benchmarks only target loopback');
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 8 });
  const durationMs = opts.durationMs ?? 3000;
  const deadline = Date.now() + durationMs;
  const latencies: number[] = [];
  let i = 0;
  let errors = 0;
  const started = process.hrtime.bigint();
  const one = (path: string) =>
    new Promise<number>((resolve) => {
      const req = request(
        { host: url.hostname, port: url.port, path, method: opts.method ?? 'GET', headers: opts.headers, agent },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(0));
      if (opts.body) req.end(opts.body);
      else req.end();
    });
  const worker = async () => {
    while (Date.now() < deadline && (opts.maxRequests === undefined || i < opts.maxRequests)) {
      const n = i++;
      const t0 = process.hrtime.bigint();
      const status = await one(opts.path ? opts.path(n) : fixedPath);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (status !== (opts.expectStatus ?? 200)) errors++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { requests: latencies.length, errors, seconds, rps: latencies.length / seconds, p50ms: pct(0.5), p99ms: pct(0.99) };
}

/** The baseline: a bare express app answering a small JSON document. */
export async function startBaseline(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = express();
  app.get('/json', (_req, res) => {
    res.json({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, Resources: [{ id: 'x', userName: 'a@b.c' }] });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export async function measureBaseline(opts: LoadOptions = {}): Promise<LoadResult> {
  const b = await startBaseline();
  try {
    return await load(b.url, '/json', opts);
  } finally {
    await b.close();
  }
}

export const fmt = (n: number, digits = 2) => n.toFixed(digits);

/** Prints a markdown table row per result with its ratio to the baseline. */
export function printTable(baseline: LoadResult, rows: Array<[string, LoadResult, string?]>): void {
  console.log('| case | req/s | ratio to bare route | p50 ms | p99 ms | errors | target |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(`| bare express JSON route | ${fmt(baseline.rps, 0)} | 1.00 | ${fmt(baseline.p50ms)} | ${fmt(baseline.p99ms)} | ${baseline.errors} | |`);
  for (const [name, r, target] of rows) {
    console.log(`| ${name} | ${fmt(r.rps, 0)} | ${fmt(r.rps / baseline.rps)} | ${fmt(r.p50ms)} | ${fmt(r.p99ms)} | ${r.errors} | ${target ?? ''} |`);
  }
}

/** One case and the bare route measured next to it: the machine's speed drifts within a run. */
export interface PairedResult {
  name: string;
  result: LoadResult;
  baseline: LoadResult;
  /** Median of the per-round ratios (each round: the bare route, then the case). */
  ratio: number;
  target?: string;
}

const merge = (parts: LoadResult[]): LoadResult => {
  const requests = parts.reduce((n, p) => n + p.requests, 0);
  const seconds = parts.reduce((n, p) => n + p.seconds, 0);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return { requests, errors: parts.reduce((n, p) => n + p.errors, 0), seconds, rps: requests / seconds, p50ms: median(parts.map((p) => p.p50ms)), p99ms: Math.max(...parts.map((p) => p.p99ms)) };
};

/**
 * Alternates the bare route and the case for `rounds` rounds, splitting the time between them, and
 * takes the median ratio: a virtual machine's speed can swing by half within seconds, and a ratio
 * between neighbours is what stays meaningful. `measure` is called once per round with its share of
 * the duration.
 */
export async function paired(name: string, measure: (durationMs: number) => Promise<LoadResult>, baselineOpts: LoadOptions, target?: string, rounds = 3): Promise<PairedResult> {
  const share = Math.max(500, Math.round((baselineOpts.durationMs ?? 3000) / rounds));
  const bases: LoadResult[] = [];
  const results: LoadResult[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const b = await measureBaseline({ ...baselineOpts, durationMs: share });
    const r = await measure(share);
    bases.push(b);
    results.push(r);
    ratios.push(r.rps / b.rps);
  }
  ratios.sort((a, b) => a - b);
  return { name, result: merge(results), baseline: merge(bases), ratio: ratios[Math.floor(ratios.length / 2)]!, target };
}

/** Prints each case with the bare route measured alongside it and the median ratio of the two. */
export function printPaired(rows: PairedResult[]): void {
  console.log('| case | req/s | bare route req/s (alongside) | ratio (median of rounds) | p50 ms | p99 ms | errors | target |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${fmt(r.result.rps, 0)} | ${fmt(r.baseline.rps, 0)} | ${fmt(r.ratio)} | ${fmt(r.result.p50ms)} | ${fmt(r.result.p99ms)} | ${r.result.errors} | ${r.target ?? ''} |`);
  }
}
