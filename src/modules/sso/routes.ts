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
import { escapeHtml, page, wantsJson } from './web.js';

/** Browser-facing SSO: SAML and OIDC sign-in, /account, /logout. Mounted outside /api/v1. */
export function ssoRoutes(c: Container): Router {
  const r = Router();
  const login = createLoginService(c);
  const session = sessionMiddleware(c);
  r.use(['/sso', '/account', '/logout'], session);
  r.use(samlRoutes(c, login));
  r.use(oidcRoutes(c, login));
  r.use(startByEmailRoutes(c));

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

/** SSO failures: a clear page with the reason code, or the API error shape for JSON clients. */
function ssoErrorHandler(c: Container): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = toAppError(err);
    if (e.status >= 500) c.logger.error({ err, path: req.path }, 'sso request failed');
    else if (e.options.detail) c.logger.info({ reason: e.code, detail: e.options.detail, path: req.path }, 'sign-in refused');
    if (res.headersSent) return void res.destroy();
    // The SPEC §6 reason code; other failures (bad origin, IdP down) carry their own error code.
    const reason = e.code;
    if (wantsJson(req)) {
      res.status(e.status).json({ ...apiErrorBody(e), reason });
      return;
    }
    page(res, e.status, 'Sign-in failed', `<h1>Sign-in failed</h1><p>${escapeHtml(apiErrorBody(e).message)}</p><p class="muted">Reason: <code>${escapeHtml(reason)}</code></p><p><a href="/account">Your account</a></p>`);
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
