import { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Container } from '../../container.js';
import { sessionMiddleware, SESSION_COOKIE } from '../../http/session.js';
import { apiErrorBody, toAppError } from '../../http/api-errors.js';
import { AppError } from '../../platform/errors.js';
import { findOrganizationsByIds } from '../organizations/queries.js';
import { accountPageBody, signInBody } from './account-page.js';
import { startByEmailRoutes } from './start-by-email.js';
import { createLoginService } from './complete-login.js';
import { loadMe } from './me.js';
import { samlRoutes } from './saml/saml-routes.js';
import { oidcRoutes } from './oidc/oidc-routes.js';
import { page, wantsJson } from './web.js';
import { ssoKeys } from './sso-keys.js';
import { anonymousRateLimit } from '../../http/anonymous-limit.js';
import { adminHint, errorPageBody, newReference } from './error-page.js';

/** Browser-facing SSO: SAML and OIDC sign-in, /account, /logout. Mounted outside /api/v1. */
export function ssoRoutes(c: Container): Router {
  const r = Router();
  const login = createLoginService(c);
  const session = sessionMiddleware(c);
  r.use(['/sso', '/account', '/logout'], session);
  const keys = ssoKeys(c.secretBox);
  const anonymousLimit = anonymousRateLimit(c.anonymousLimiter);
  r.use(samlRoutes(c, login, keys, anonymousLimit));
  r.use(oidcRoutes(c, login, keys, anonymousLimit));
  r.use(startByEmailRoutes(c, anonymousLimit));

  r.get('/account', async (req, res) => {
    const me = req.session.userId ? await loadMe(c.db, req.session.userId) : null;
    if (!me) {
      // 200: this is the page asked for, offering the way in (browsers log any 4xx as an error).
      page(res, 200, 'Sign in', signInBody({ returnTo: '/account' }));
      return;
    }
    const run = me.last_sync_run;
    const ids = run ? [...run.added, ...run.updated, ...run.flagged, ...run.restored, ...run.skipped].map((x) => x.organization_id) : [];
    const names = new Map((await findOrganizationsByIds(c.db, [...new Set(ids)])).map((o) => [o.id, o.display_name] as const));
    page(res, 200, 'Your account', accountPageBody(me, names, '/logout'));
  });

  r.post('/logout', async (req, res) => {
    // No token needed: a cross-site form post carries a foreign Origin and is refused.
    const origin = req.headers.origin;
    if (origin && origin !== new URL(c.config.publicUrl).origin) throw new AppError('forbidden_origin', 403, 'Sign-out must come from this site.');
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err as Error) : resolve())));
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    if (wantsJson(req)) res.status(204).end();
    else res.redirect(303, '/account');
  });

  r.use(ssoErrorHandler(c));
  return r;
}

/**
 * SSO failures: a page saying what happened, what the IT admin can change and a reference that finds
 * the log line (or the API error shape for JSON clients, with the same reference).
 */
function ssoErrorHandler(c: Container): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = toAppError(err);
    const ref = newReference();
    if (e.status >= 500) c.logger.error({ err, ref, reason: e.code, detail: e.options.detail, path: req.path }, 'sso request failed');
    else c.logger.info({ ref, reason: e.code, detail: e.options.detail, path: req.path }, 'sign-in refused');
    if (res.headersSent) return void res.destroy();
    // The SPEC §6 reason code; other failures (bad origin, IdP down) carry their own error code.
    const reason = e.code;
    const body = apiErrorBody(e);
    // The check that failed (`why`) stays in the log line the reference finds: it may quote the IdP.
    if (wantsJson(req)) {
      res.status(e.status).json({ ...body, reason, ref, ...(adminHint(reason) ? { admin_hint: adminHint(reason) } : {}) });
      return;
    }
    page(res, e.status, 'Sign-in failed', errorPageBody(body.message, reason, ref));
  };
}

/** `GET /api/v1/me`: the session's user; mounted before API-key auth. */
export function meRoutes(c: Container): Router {
  const r = Router();
  const handler: RequestHandler = async (req, res) => {
    const me = req.session.userId ? await loadMe(c.db, req.session.userId) : null;
    if (!me) throw new AppError('not_signed_in', 401, 'No live session: sign in through SSO first.');
    res.setHeader('cache-control', 'no-store');
    res.json(me);
  };
  r.get('/api/v1/me', sessionMiddleware(c), handler);
  r.use('/api/v1/me', ((err, _req, res, _next) => {
    const e = toAppError(err);
    res.status(e.status).json(apiErrorBody(e));
  }) as ErrorRequestHandler);
  return r;
}
