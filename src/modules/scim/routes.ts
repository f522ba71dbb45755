import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import express from 'express';
import type { Container } from '../../container.js';
import { bearerToken } from '../../http/api-auth.js';
import { toAppError } from '../../http/api-errors.js';
import { AppError } from '../../platform/errors.js';
import type { DirectoryContext } from '../directories/service.js';
import { runBulk } from './bulk.js';
import { etagListed, type ActivityClaim, type ScimContext } from './context.js';
import { ScimDispatcher, type ScimResult } from './dispatch.js';
import { MAX_PAYLOAD_BYTES } from './discovery.js';
import { scimError, scimErrorBody } from './errors.js';
import { BatchedRateLimiter, type RateLimitResult } from '../../http/rate-limit.js';
import { responseText } from './json-text.js';

const CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/** Written straight to the socket: no express ETag hashing or freshness check (SCIM has its own ETags). */
function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  for (const k in headers) res.setHeader(k, headers[k]!);
  res.statusCode = status;
  if (body === undefined) {
    res.end();
    return;
  }
  // As bytes: given a string, Node measures it again for the header and encodes it on writing (a
  // page of 100 users is 30-40 KB, built in pieces: measuring it first joined them).
  const bytes = Buffer.from(responseText(body), 'utf8');
  res.setHeader('Content-Type', CONTENT_TYPE);
  res.setHeader('Content-Length', bytes.length);
  res.end(bytes);
}

/** `/v2/{directory}/…` below the `/scim` mount: the directory and the SCIM path, or undefined. */
function splitPath(path: string): { directoryId: string; rest: string } | undefined {
  const m = /^\/v2\/([^/]+)(\/.*)?$/.exec(path);
  if (!m) return undefined;
  try {
    return { directoryId: decodeURIComponent(m[1]!), rest: m[2] ?? '/' };
  } catch {
    return undefined;
  }
}

/** The query string's parameters, the first value of each (as express's `simple` query parser, then the first). */
const firstValues = (search: string): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {};
  if (search === '') return out;
  for (const [k, v] of Object.entries(parseQuery(search))) out[k] = Array.isArray(v) ? v[0] : v;
  return out;
};

/** A request for `/scim…`: the path below `/scim` (as `/v2/…`) and the query string without its `?`. */
export interface ScimTarget {
  path: string;
  search: string;
}

/**
 * Whether a request URL is under `/scim` (matched as express matches a mount: any case, `/scim`
 * itself or below it), and where: the path below the mount and the query string.
 */
export function scimTarget(url: string | undefined): ScimTarget | undefined {
  if (url === undefined) return undefined;
  let path = url;
  let search = '';
  const q = url.indexOf('?');
  if (q >= 0) {
    path = url.slice(0, q);
    search = url.slice(q + 1);
  }
  if (!path.startsWith('/')) {
    // The absolute form (`GET http://host/scim/…`), which a proxy may send.
    try {
      path = new URL(path).pathname;
    } catch {
      return undefined;
    }
  }
  if (path.length < 5 || path.slice(0, 5).toLowerCase() !== '/scim' || (path.length > 5 && path[5] !== '/')) return undefined;
  return { path: path.length === 5 ? '/' : path.slice(5), search };
}

/** A SCIM request as the endpoint sees it: node's own request with the parsed body. */
type ScimRequest = IncomingMessage & { body?: unknown };

/** The SCIM endpoint: answers one request under `/scim` (see scimEndpoint). */
export type ScimEndpoint = (req: IncomingMessage, res: ServerResponse, target: ScimTarget) => void;

/**
 * Everything under `/scim`: `/v2/{directory}/…` with the bearer directory token and the per-directory
 * rate limit, then the SCIM dispatcher; any other path is a SCIM 404. It takes node's request and
 * response as they come from the server, without express: SCIM is the busiest path, speaks its own
 * error format and needs none of express's request helpers, whose per-request set-up cost about as
 * much CPU as a lookup itself (a lookup went from 0.54 to 0.94 of a bare express route without it).
 * `clientIp` names the caller's address (used only to count failed attempts).
 */
export function scimEndpoint(c: Container, clientIp: (req: IncomingMessage) => string): ScimEndpoint {
  const dispatcher = new ScimDispatcher(c);
  const activity = new Map<string, ActivityClaim>();
  const limiter = new BatchedRateLimiter(c.rateLimiter, c.clock, c.config.rateLimitScimPerMinute);
  const onError = scimErrorHandler(c);

  const headersOf = (h: RateLimitResult, res: ServerResponse): void => {
    res.setHeader('X-RateLimit-Limit', String(h.limit));
    res.setHeader('X-RateLimit-Remaining', String(h.remaining));
    res.setHeader('X-RateLimit-Reset', String(h.resetEpochSeconds));
    if (!h.allowed) {
      const retryAfter = String(Math.max(1, Math.ceil(h.resetEpochSeconds - c.clock.now().getTime() / 1000)));
      throw new AppError('too_many_requests', 429, 'Too many requests for this directory; retry later.', { headers: { 'Retry-After': retryAfter } });
    }
  };
  /** Counts the request; a promise only when the count went to the database. */
  const limit = (bucket: string, res: ServerResponse): Promise<void> | undefined => {
    if (limiter.limit <= 0) return undefined;
    const h = limiter.hit(bucket);
    if (h instanceof Promise) return h.then((r) => headersOf(r, res));
    headersOf(h, res);
    return undefined;
  };

  // The connections of the latest requests: requests from more than one connection within 20 ms
  // mean clients working in parallel (reads may then leave the request thread); a single client
  // sending one request at a time keeps the lowest latency.
  const recent: Array<{ socket: object; at: number }> = [];
  const severalClients = (socket: object): boolean => {
    const now = performance.now();
    const several = recent.some((r) => r.socket !== socket && now - r.at < 20);
    recent.push({ socket, at: now });
    if (recent.length > 8) recent.shift();
    return several;
  };

  // Both SCIM and plain JSON content types are accepted.
  const json = express.json({ limit: MAX_PAYLOAD_BYTES, type: ['application/json', 'application/*+json'] });
  /** The body parser as a promise, for a request that has a body (a GET has none: nothing to run). */
  const readBody = (req: ScimRequest, res: ServerResponse): Promise<void> | undefined => {
    if (req.headers['transfer-encoding'] === undefined && req.headers['content-length'] === undefined) return undefined;
    return new Promise((resolve, reject) => json(req as never, res as never, (err?: unknown) => (err ? reject(err) : resolve())));
  };

  // Authentication and the per-directory limit, then the body (read only once authenticated), then
  // the dispatcher.
  const handle = async (req: ScimRequest, res: ServerResponse, { path: below, search }: ScimTarget): Promise<void> => {
    const target = splitPath(below);
    if (!target) throw scimError(404, undefined, `No SCIM endpoint at ${below}.`);
    const { directoryId } = target;
    const token = bearerToken(req.headers.authorization);
    const dir: DirectoryContext | undefined = token && directoryId.length <= 64 ? await c.directories.authenticate(directoryId, token) : undefined;
    if (!dir) {
      // Failed attempts count against the caller's address, never against the directory.
      await limit(`scim-ip:${clientIp(req)}`, res);
      throw new AppError('invalid_token', 401, 'Missing, unknown or expired directory token.', { headers: { 'WWW-Authenticate': 'Bearer realm="scim"' } });
    }
    const counted = limit(`scim:${dir.directoryId}`, res);
    if (counted) await counted;
    const body = readBody(req, res);
    if (body) await body;
    const path = target.rest;
    const ctx: ScimContext = {
      directoryId: dir.directoryId,
      connectionId: dir.connectionId,
      baseUrl: `${c.config.publicUrl}/scim/v2/${dir.directoryId}`,
      actor: { type: 'scim', id: dir.directoryId },
      at: c.clock.now().toISOString(),
      activity,
      concurrent: severalClients(req.socket),
    };
    const ifMatch = req.headers['if-match'];
    const scimReq = { method: req.method ?? 'GET', path, query: firstValues(search), body: req.body as unknown, ifMatch };
    let result: ScimResult;
    if (/^\/bulk\/?$/i.test(path)) {
      if (req.method !== 'POST') throw scimError(405, undefined, 'Bulk takes POST only.');
      result = { status: 200, body: await runBulk(dispatcher, ctx, req.body) };
    } else result = await dispatcher.handle(ctx, scimReq);
    const headers: Record<string, string> = {};
    if (result.version) headers.ETag = result.version;
    if (result.location && result.status === 201) headers.Location = result.location;
    // RFC 7644 §3.14: a GET whose If-None-Match names the current version is answered 304, no body.
    if (req.method === 'GET' && result.status === 200 && result.version && etagListed(req.headers['if-none-match'], result.version)) {
      send(res, 304, undefined, headers);
      return;
    }
    send(res, result.status, result.body, headers);
  };
  return (req, res, target) => {
    handle(req, res, target).catch((err: unknown) => {
      try {
        onError(err, req, res, target.path);
      } catch (failed) {
        // Nothing may escape as an unhandled rejection (it would stop the process): drop the connection.
        res.destroy();
        try {
          c.logger.error({ err: failed, method: req.method, path: target.path }, 'SCIM error response failed');
        } catch {
          // The logger itself failed: the dropped connection is all that can be done.
        }
      }
    });
  };
}

/** Every SCIM failure as a SCIM error body: 404 routes, malformed JSON, 413, 429, 500 (no stack). */
function scimErrorHandler(c: Container): (err: unknown, req: IncomingMessage, res: ServerResponse, path: string) => void {
  return (err, req, res, path) => {
    const e = toAppError(err);
    const appErr = e.code === 'invalid_body' && e.status === 400 ? scimError(400, 'invalidSyntax', e.message) : e;
    if (appErr.status >= 500) c.logger.error({ err, method: req.method, path }, 'SCIM request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    send(res, appErr.status, scimErrorBody(appErr), appErr.options.headers ?? {});
  };
}
