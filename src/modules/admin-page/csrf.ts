import type { Request, RequestHandler, Response } from 'express';
import { readCookie } from '../../http/cookies.js';
import { constantTimeEqual, randomToken } from '../../platform/crypto.js';
import { AppError } from '../../platform/errors.js';
import { macTag } from '../../platform/sealed.js';

export const CSRF_FIELD = '_csrf';
/** The anonymous visitor's browser binding for the sign-in form. */
export const CSRF_COOKIE = 'orgsync.csrf';
const NONCE = /^[A-Za-z0-9_-]{32}$/;

interface CsrfSetup {
  key: Buffer;
  secure: boolean;
  /** The anonymous token already worked out for this response (its cookie is set once). */
  anonymous?: string;
}

/** Someone is signed in: only then does the session hold a token (and exist as a row at all). */
const signedIn = (req: Request): boolean => !!(req.session?.adminApiKeyId || req.session?.userId);

/** Makes the key available to csrfToken and the guard for this request. */
export function csrfSetup(key: Buffer, publicUrl: () => string): RequestHandler {
  return (_req, res, next) => {
    res.locals.adminCsrf = { key, secure: publicUrl().startsWith('https://') } satisfies CsrfSetup;
    next();
  };
}

function setupOf(res: Response): CsrfSetup {
  const setup = res.locals.adminCsrf as CsrfSetup | undefined;
  if (!setup) throw new Error('csrfSetup must run before admin pages');
  return setup;
}

const anonymousTokenFor = (key: Buffer, nonce: string): string => macTag(key, ['admin-csrf/anonymous/v1', nonce], 32).toString('base64url');

/**
 * The form token. A signed-in session keeps a synchronizer token; an anonymous visitor (the
 * sign-in form) gets no session row at all: the token is an HMAC of a random value kept in an
 * HttpOnly, SameSite=Strict cookie, so only a page this browser loaded from us can post the form.
 */
export function csrfToken(req: Request, res: Response): string {
  if (signedIn(req)) {
    req.session.csrfToken ??= randomToken('', 32);
    return req.session.csrfToken;
  }
  const setup = setupOf(res);
  if (setup.anonymous) return setup.anonymous;
  let nonce = readCookie(req, CSRF_COOKIE);
  if (!nonce || !NONCE.test(nonce)) {
    nonce = randomToken('', 24);
    res.cookie(CSRF_COOKIE, nonce, { httpOnly: true, sameSite: 'strict', secure: setup.secure, path: '/admin' });
  }
  setup.anonymous = anonymousTokenFor(setup.key, nonce);
  return setup.anonymous;
}

const forbidden = () =>
  new AppError('csrf_failed', 403, 'This form was not sent from this admin page, or it has expired. Reload the page and try again.');

/**
 * Every state-changing request must carry the right token in a hidden field (the session's when
 * someone is signed in, else the one bound to the browser's cookie), and when the browser sends
 * `Origin` it must be PUBLIC_URL's origin: a cross-site form post fails both checks.
 */
export function csrfGuard(publicUrl: () => string): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== new URL(publicUrl()).origin) return next(forbidden());
    const body = req.body as Record<string, unknown> | undefined;
    const sent = typeof body?.[CSRF_FIELD] === 'string' ? body[CSRF_FIELD] : '';
    let expected: string | undefined;
    if (signedIn(req)) expected = req.session.csrfToken;
    else {
      const nonce = readCookie(req, CSRF_COOKIE);
      expected = nonce && NONCE.test(nonce) ? anonymousTokenFor(setupOf(res).key, nonce) : undefined;
    }
    if (!expected || !sent || !constantTimeEqual(sent, expected)) return next(forbidden());
    next();
  };
}
