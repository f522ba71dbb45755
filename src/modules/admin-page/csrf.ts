import type { Request, RequestHandler } from 'express';
import { constantTimeEqual, randomToken } from '../../platform/crypto.js';
import { AppError } from '../../platform/errors.js';

export const CSRF_FIELD = '_csrf';

/** The session's synchronizer token, created on first use (it lives as long as the session). */
export function csrfToken(req: Request): string {
  req.session.csrfToken ??= randomToken('', 32);
  return req.session.csrfToken;
}

const forbidden = () =>
  new AppError('csrf_failed', 403, 'This form was not sent from this admin page, or it has expired. Reload the page and try again.');

/**
 * Every state-changing request must carry the session's token in a hidden field, and when the
 * browser sends `Origin` it must be PUBLIC_URL's origin: a cross-site form post fails both checks.
 */
export function csrfGuard(publicUrl: () => string): RequestHandler {
  return (req, _res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== new URL(publicUrl()).origin) return next(forbidden());
    const body = req.body as Record<string, unknown> | undefined;
    const sent = typeof body?.[CSRF_FIELD] === 'string' ? body[CSRF_FIELD] : '';
    const expected = req.session.csrfToken;
    if (!expected || !sent || !constantTimeEqual(sent, expected)) return next(forbidden());
    next();
  };
}
