import ipaddr from 'ipaddr.js';
import type { RequestHandler } from 'express';
import { AppError } from '../platform/errors.js';
import { rateLimit, type BatchedRateLimiter } from './rate-limit.js';

/**
 * Who an anonymous request counts against: its address, with an IPv4-mapped IPv6 address counted
 * as the IPv4 one and IPv6 grouped by /64, since one client usually holds a whole /64 and could
 * otherwise start a fresh counter (and a fresh row) with every request.
 */
export function clientKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  try {
    let addr = ipaddr.parse(ip);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
    if (addr.kind() === 'ipv4') return addr.toString();
    return `${(addr as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
  } catch {
    return 'unknown';
  }
}

/**
 * RATE_LIMIT_ANONYMOUS_PER_MINUTE for the endpoints anyone may call before signing in (SSO login,
 * ACS, callback, continuation; the admin sign-in; setup-link pages). One budget per client across all of them,
 * counted in the database like the API limit (one row per client per minute, pruned), so every
 * instance shares it, in batches (BatchedRateLimiter: a flood from one client is not a database write
 * per request). `limiter` is the container's one counter (`anonymousLimiter`), so the surfaces share
 * a client's budget in memory too. Past it: `429` with `Retry-After`, rendered by each surface's error handler.
 */
export function anonymousRateLimit(limiter: BatchedRateLimiter): RequestHandler {
  return rateLimit(
    limiter,
    limiter.limit,
    (req) => `anon:${clientKey(req.ip)}`,
    (s) =>
      new AppError('too_many_requests', 429, 'Too many requests from your network. Wait a minute and try again.', {
        expose: true,
        headers: { 'Retry-After': String(s) },
      }),
  );
}
