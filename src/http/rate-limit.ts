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

/** Express middleware: sets X-RateLimit-* headers and answers 429 past the limit. */
export function rateLimit(
  limiter: RateLimiter,
  limit: number,
  bucketOf: (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1]) => string | undefined,
  tooMany: (retryAfterSeconds: number) => Error = (s) =>
    new AppError('too_many_requests', 429, 'Too many requests; slow down.', { headers: { 'Retry-After': String(s) } }),
): RequestHandler {
  return async (req, res, next) => {
    const bucket = bucketOf(req, res);
    if (limit <= 0 || !bucket) return next();
    const r = await limiter.hit(bucket, limit);
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
