import type { Clock } from '../../platform/clock.js';
import type { RateLimiter, RateLimitResult } from '../../http/rate-limit.js';

interface BucketState {
  window: number;
  known: number;
  pending: number;
  lastSync: number;
}

/**
 * The per-directory SCIM limit, counted in the shared database table like every other limit, but
 * without a database write on every request: hits are batched in memory and flushed at least once a
 * second, every 256 hits, and more often as the count nears the limit (a sixteenth of what is left,
 * down to every hit). Instances sharing the database therefore see each other's traffic within a
 * second, and a small limit is exact. (Every 64 hits, the flush, a write on the request thread on
 * SQLite, was a few percent of a lookup's time.)
 */
export class ScimRateLimiter {
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
