import type { RequestHandler } from 'express';
import type { Db } from '../platform/db.js';
import type { Clock } from '../platform/clock.js';
import { AppError } from '../platform/errors.js';

export interface RateLimitResult {
  limit: number;
  remaining: number;
  resetEpochSeconds: number;
  allowed: boolean;
  /** Requests counted in the current window, across every instance. */
  count: number;
}

/**
 * Fixed one-minute windows counted in the database, so every instance sharing it shares the limit.
 * One upsert per request; old windows are pruned now and then.
 */
export class RateLimiter {
  private lastPrune = 0;
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  /** Counts `by` requests (callers that batch their counting pass more than one). */
  async hit(bucket: string, limit: number, by = 1): Promise<RateLimitResult> {
    const nowMs = this.clock.now().getTime();
    const windowStart = Math.floor(nowMs / 60_000) * 60_000;
    const resetEpochSeconds = (windowStart + 60_000) / 1000;
    const result = await this.db.raw<unknown>(
      `INSERT INTO rate_limits (bucket, window_start, count) VALUES (?, ?, ?)
       ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limits.count + excluded.count
       RETURNING count`,
      [bucket, windowStart, by],
    );
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ count: number | string }>;
    const count = Number(rows[0]?.count ?? 1);
    if (nowMs - this.lastPrune > 60_000) {
      this.lastPrune = nowMs;
      await this.db('rate_limits').where('window_start', '<', windowStart - 60_000).delete();
    }
    return { limit, remaining: Math.max(0, limit - count), resetEpochSeconds, allowed: count <= limit, count };
  }
}

interface BucketState {
  window: number;
  known: number;
  pending: number;
  lastSync: number;
}

/**
 * A limit counted in the shared database table like every other, but without a database write on
 * every request: hits are batched in memory and flushed at least once a second, every 256 hits, and
 * more often as the count nears the limit (a sixteenth of what is left, down to every hit). Instances
 * sharing the database therefore see each other's traffic within a second, and a small limit is
 * exact. Used for SCIM (per directory: every 64 hits, the flush, a write on the request thread on
 * SQLite, was a few percent of a lookup's time) and anonymous requests (per client: one upsert per
 * request made every request of one client wait for the previous one's commit on PostgreSQL, since
 * they all update one row, about 60 requests a second under load).
 */
export class BatchedRateLimiter {
  private readonly buckets = new Map<string, BucketState>();
  constructor(private readonly limiter: RateLimiter, private readonly clock: Clock, readonly limit: number) {}

  /** The count after this hit: at once, or a promise when the batch went to the database. */
  hit(bucket: string): RateLimitResult | Promise<RateLimitResult> {
    const now = this.clock.now().getTime();
    const window = Math.floor(now / 60_000) * 60_000;
    let s = this.buckets.get(bucket);
    if (!s || s.window !== window) {
      if (this.buckets.size > 10_000) this.buckets.clear();
      s = { window, known: 0, pending: 0, lastSync: 0 };
      this.buckets.set(bucket, s);
    }
    s.pending++;
    const headroom = this.limit - (s.known + s.pending);
    const batch = Math.min(256, Math.max(1, Math.floor(headroom / 16)));
    if (s.pending >= batch || now - s.lastSync >= 1000) {
      const n = s.pending;
      s.pending = 0;
      s.lastSync = now;
      const state = s;
      return this.limiter.hit(bucket, this.limit, n).then((r) => {
        state.known = Math.max(state.known, r.count);
        return this.result(state);
      });
    }
    return this.result(s);
  }

  private result(s: BucketState): RateLimitResult {
    const count = s.known + s.pending;
    return { limit: this.limit, remaining: Math.max(0, this.limit - count), resetEpochSeconds: (s.window + 60_000) / 1000, allowed: count <= this.limit, count };
  }
}

type Hit = (bucket: string) => RateLimitResult | Promise<RateLimitResult>;

/**
 * Express middleware: sets X-RateLimit-* headers and answers 429 past the limit. `limiter`: the
 * database counter (one upsert per request) or a batched one.
 */
export function rateLimit(
  limiter: RateLimiter | BatchedRateLimiter,
  limit: number,
  bucketOf: (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1]) => string | undefined,
  tooMany: (retryAfterSeconds: number) => Error = (s) =>
    new AppError('too_many_requests', 429, 'Too many requests; slow down.', { headers: { 'Retry-After': String(s) } }),
): RequestHandler {
  const hit: Hit = limiter instanceof BatchedRateLimiter ? (bucket) => limiter.hit(bucket) : (bucket) => limiter.hit(bucket, limit);
  return async (req, res, next) => {
    const bucket = bucketOf(req, res);
    if (limit <= 0 || !bucket) return next();
    const r = await hit(bucket);
    res.setHeader('X-RateLimit-Limit', String(r.limit));
    res.setHeader('X-RateLimit-Remaining', String(r.remaining));
    res.setHeader('X-RateLimit-Reset', String(r.resetEpochSeconds));
    if (!r.allowed) {
      const retryAfter = Math.max(1, Math.ceil(r.resetEpochSeconds - Date.now() / 1000));
      res.setHeader('Retry-After', String(retryAfter));
      return next(tooMany(retryAfter));
    }
    next();
  };
}
