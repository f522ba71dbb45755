import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../platform/logger.js';

/** Logs one request when its response is finished; `path` is the URL path without the query. */
export type RequestLog = (req: IncomingMessage, res: ServerResponse, path: string) => void;

/**
 * One structured line per request. Only method, path, status and timing: never headers, bodies or
 * query strings (SCIM filters carry user names; SSO callbacks carry codes).
 */
export function requestLog(logger: Logger): RequestLog {
  return (req, res, path) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : 'info';
      // At `warn` and above a successful request writes nothing: build nothing for it.
      if (!logger.isLevelEnabled(level)) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger[level]({ method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
  };
}

/** `requestLog` as express middleware. */
export function accessLog(logger: Logger): RequestHandler {
  const log = requestLog(logger);
  return (req, res, next) => {
    log(req, res, req.originalUrl.split('?')[0]!);
    next();
  };
}
