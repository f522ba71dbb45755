import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../../platform/logger.js';
import { AppError } from '../../platform/errors.js';
import { toAppError, reasonPhrase } from '../../http/api-errors.js';
import { html } from './html.js';
import { layout } from './layout.js';
import { csrfToken } from './csrf.js';
import type { AdminPrincipal } from './principal.js';

export const adminNotFound: RequestHandler = (_req, _res, next) => next(new AppError('not_found', 404, 'There is no such admin page.'));

/** Errors render as an admin page with the status, never as a stack trace or JSON. */
export function adminErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = toAppError(err);
    if (e.status >= 500) logger.error({ err, method: req.method, path: req.path }, 'admin page failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const principal = res.locals.adminPrincipal as AdminPrincipal | undefined;
    const title = reasonPhrase(e.status);
    let csrf = '';
    try {
      csrf = req.session ? csrfToken(req, res) : '';
    } catch {
      // no session (the store failed): the page still renders, without forms that need a token
    }
    res.status(e.status).send(
      layout({ principal, csrf }, title, html`<section class="card narrow" aria-labelledby="error-title">
        <h1 id="error-title">${title}</h1>
        <p>${e.expose ? e.message : 'Something went wrong on our side. Try again shortly.'}</p>
        <p><a href="/admin">Back to the admin page</a></p>
      </section>`).value,
    );
  };
}
