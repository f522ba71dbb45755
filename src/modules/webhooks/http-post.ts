import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, hostOf, isPublicAddress } from './target-guard.js';

export type PostOutcome =
  | { kind: 'delivered'; status: number; durationMs: number }
  | { kind: 'failed'; status: number | null; error: string; durationMs: number };

export interface PostOptions {
  timeoutMs: number;
  allowPrivateTargets: boolean;
  signal?: AbortSignal;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * One POST to a webhook endpoint. Only a 2xx counts as delivered; redirects are never followed
 * (a 3xx is a failure naming the Location), and the whole exchange, body included, must finish
 * within `timeoutMs`. Non-public targets are refused at connect time unless allowed.
 */
export function postWebhook(rawUrl: string, body: string, headers: Record<string, string>, opts: PostOptions): Promise<PostOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const url = new URL(rawUrl);
  const host = hostOf(url);
  if (!opts.allowPrivateTargets && isIP(host) && !isPublicAddress(host)) {
    return Promise.resolve({ kind: 'failed', status: null, error: `refused: ${host} is not a public address`, durationMs: 0 });
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (o: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(o);
    };
    const fail = (error: string, status: number | null = null) => finish({ kind: 'failed', status, error, durationMs: elapsed() });
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'orgsync-webhooks/1', ...headers },
      lookup: opts.allowPrivateTargets ? undefined : guardedLookup,
      // A fresh connection per attempt: every attempt re-resolves and re-checks the target.
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      fail(`timeout: no complete response within ${opts.timeoutMs} ms`);
    }, opts.timeoutMs);
    const onAbort = () => {
      req.destroy();
      fail('aborted: the server is shutting down');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: Error & { code?: string }) => fail(err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) res.destroy();
      });
      res.on('error', () => undefined);
      const done = () => {
        if (status >= 200 && status < 300) finish({ kind: 'delivered', status, durationMs: elapsed() });
        else if (status >= 300 && status < 400) fail(`redirect not followed (HTTP ${status} to ${String(res.headers.location ?? 'nowhere')})`, status);
        else fail(`HTTP ${status}`, status);
      };
      res.on('end', done);
      res.on('close', done);
    });
    req.end(body);
  });
}
