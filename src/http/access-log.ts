import type { RequestHandler } from 'express';
import type { Logger } from '../platform/logger.js';

/**
 * One structured line per request. Only method, path, status and timing: never headers, bodies or
 * query strings (SCIM filters carry user names; SSO callbacks carry codes).
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : 'info';
      // At the usual production level (warn) a successful request writes nothing: build nothing for it.
      if (!logger.isLevelEnabled(level)) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger[level]({ method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}
