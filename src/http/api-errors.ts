import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../platform/logger.js';
import { AppError, isAppError } from '../platform/errors.js';
import { isUnavailable } from '../platform/db-errors.js';

export interface ApiErrorBody {
  statusCode: number;
  error: string;
  message: string;
  errorCode: string;
}

export const reasonPhrase = (status: number): string => STATUS_CODES[status] ?? 'Error';

/** Turns anything thrown into an AppError: body-parser errors, database outages, the unexpected. */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string } | null;
  if (e?.type === 'entity.parse.failed') return new AppError('invalid_body', 400, 'Malformed JSON in request body.');
  if (e?.type === 'entity.too.large') return new AppError('payload_too_large', 413, 'Request body is too large.');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    return new AppError('unsupported_media_type', 415, 'Unsupported request encoding.');
  if (isUnavailable(err)) return new AppError('database_unavailable', 503, 'The database is not answering; try again shortly.', { expose: true });
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError('bad_request', status, reasonPhrase(status));
  }
  return new AppError('internal_error', 500, 'An unexpected error occurred.', { expose: true });
}

export function apiErrorBody(err: AppError): ApiErrorBody {
  return {
    statusCode: err.status,
    error: reasonPhrase(err.status),
    message: err.expose ? err.message : reasonPhrase(err.status),
    errorCode: err.code,
  };
}

/** The management API error shape of SPEC §5, for every error. */
export function apiErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appErr = toAppError(err);
    if (appErr.status >= 500) logger.error({ err, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const [k, v] of Object.entries(appErr.options.headers ?? {})) res.setHeader(k, v);
    res.status(appErr.status).json(apiErrorBody(appErr));
  };
}

export const apiNotFound: RequestHandler = (req, _res, next) => {
  // baseUrl: a router mounted at /api/v1 sees only the rest of the path.
  next(new AppError('not_found', 404, `No route for ${req.method} ${req.baseUrl}${req.path}.`));
};
