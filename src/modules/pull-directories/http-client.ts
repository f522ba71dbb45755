/**
 * The requests a pull run makes to Google or Microsoft, with plain `fetch`: the official clients
 * cannot be pointed at an http test endpoint or an arbitrary token URL (see the README). Every
 * failure becomes a `PullError`, so the runner knows the run did not complete and why, without
 * ever echoing a response body (it may come from a URL an administrator typed).
 */
export type PullErrorCode = 'token_error' | 'rate_limited' | 'http_error' | 'timeout' | 'network_error' | 'sync_state_lost' | 'invalid_response' | 'lease_lost' | 'stopped';

export class PullError extends Error {
  constructor(
    public readonly code: PullErrorCode,
    message: string,
    /** For `rate_limited`: how long the API asked us to wait. */
    public readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'PullError';
  }
}

export interface HttpOptions {
  timeoutMs: number;
  /** Rate-limit answers up to this wait are waited out inside the run; longer ones end it. */
  maxInlineWaitMs: number;
  maxRetries: number;
  sleep: (ms: number) => Promise<void>;
}

export const defaultHttpOptions: HttpOptions = {
  timeoutMs: 30_000,
  maxInlineWaitMs: 30_000,
  maxRetries: 4,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** Counts requests per run: the run report says what a sync cost. */
export class RequestCounter {
  count = 0;
}

/** `Retry-After` in seconds or as an HTTP date; a missing one means a short default. */
export function retryAfterMs(header: string | null, now: number, fallbackMs: number): number {
  if (!header) return fallbackMs;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? fallbackMs : Math.max(0, at - now);
}

/** Google answers its per-user quota with 403 `rateLimitExceeded` / `userRateLimitExceeded`. */
function isGoogleRateLimit(status: number, body: unknown): boolean {
  if (status !== 403 || typeof body !== 'object' || body === null) return false;
  const errors = (body as { error?: { errors?: Array<{ reason?: unknown }> } }).error?.errors ?? [];
  return errors.some((e) => e.reason === 'rateLimitExceeded' || e.reason === 'userRateLimitExceeded' || e.reason === 'quotaExceeded');
}

const errorCodeOf = (body: unknown): string | undefined => {
  if (typeof body !== 'object' || body === null) return undefined;
  const e = (body as { error?: unknown }).error;
  if (typeof e === 'string') return e;
  if (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string') return (e as { code: string }).code;
  return undefined;
};

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One JSON request, retried on rate limits (honouring `Retry-After`) and on 5xx with a short
 * backoff, up to `maxRetries`. `what` names the call in errors (`GET /users/delta`).
 */
export async function requestJson(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  what: string,
  opts: HttpOptions,
  counter: RequestCounter,
): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    counter.count += 1;
    let res: Response;
    try {
      res = await fetch(url, { method: init.method ?? 'GET', headers: { accept: 'application/json', ...init.headers }, body: init.body, redirect: 'error', signal: AbortSignal.timeout(opts.timeoutMs) });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      if (attempt < opts.maxRetries && !timedOut) {
        await opts.sleep(500 * 2 ** attempt);
        continue;
      }
      throw new PullError(timedOut ? 'timeout' : 'network_error', `${what}: ${timedOut ? `no answer within ${opts.timeoutMs} ms` : 'could not connect'}`);
    }
    const body = await readJson(res);
    if (res.ok) {
      if (body === undefined || typeof body !== 'object' || body === null) throw new PullError('invalid_response', `${what}: the answer is not a JSON object`);
      return body;
    }
    const code = errorCodeOf(body);
    if (res.status === 429 || isGoogleRateLimit(res.status, body)) {
      const wait = retryAfterMs(res.headers.get('retry-after'), Date.now(), 1000 * 2 ** attempt);
      if (wait > opts.maxInlineWaitMs || attempt >= opts.maxRetries) throw new PullError('rate_limited', `${what}: rate limited (HTTP ${res.status}); retry after ${Math.ceil(wait / 1000)} s`, wait);
      await opts.sleep(wait);
      continue;
    }
    // Graph answers an expired delta token with 410 syncStateNotFound (older reports: 400).
    if ((res.status === 410 || res.status === 400) && (code === 'syncStateNotFound' || code === 'resyncRequired')) {
      throw new PullError('sync_state_lost', `${what}: the delta token expired (${code}); starting a full sync`);
    }
    if (res.status >= 500 && attempt < opts.maxRetries) {
      await opts.sleep(500 * 2 ** attempt);
      continue;
    }
    throw new PullError('http_error', `${what}: HTTP ${res.status}${code ? ` ${code}` : ''}`);
  }
}

/** Follow-up links must stay on the API's own origin: the access token goes with them. */
export function sameOrigin(link: string, base: string, what: string): string {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new PullError('invalid_response', `${what}: the next-page link is not a URL`);
  }
  if (url.origin !== new URL(base).origin) throw new PullError('invalid_response', `${what}: the next-page link leaves ${new URL(base).origin}`);
  return url.toString();
}
