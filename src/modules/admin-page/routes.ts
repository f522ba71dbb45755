import { fileURLToPath } from 'node:url';
import express, { Router, type RequestHandler } from 'express';
import type { Container } from '../../container.js';
import { authRoutes, loadPrincipal } from './auth.js';
import { csrfGuard, csrfSetup } from './csrf.js';
import { multipartForms } from './multipart.js';
import { anonymousRateLimit } from '../../http/anonymous-limit.js';
import { adminErrorHandler, adminNotFound } from './errors.js';
import { organizationPages } from './pages/organizations.js';
import { auditPages } from './pages/audit.js';
import { connectionPages } from './pages/connections.js';
import { memberPages } from './pages/members.js';
import { memberActions } from './pages/member-actions.js';
import { reportPages } from './pages/report.js';
import { directoryPages } from './pages/directories.js';
import { directoryFormPages } from './pages/directory-form.js';
import { webhookPages } from './pages/webhooks.js';
import { setupLinkPages } from './pages/setup-links.js';

const ASSETS = fileURLToPath(new URL('./assets', import.meta.url));

/**
 * Pages show member data and one-time secrets: never cached by the browser or a proxy. Helmet's
 * `no-referrer` makes browsers send `Origin: null` on form posts, which the CSRF guard would have
 * to trust blindly; `same-origin` keeps referrers off other sites and the real Origin on ours.
 */
const pageHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'same-origin');
  next();
};

/**
 * The admin page at /admin: server-rendered HTML, one stylesheet and one small script served from
 * this module, so the Content-Security-Policy stays `script-src 'self'` with no inline code.
 */
export function adminPage(c: Container, session: RequestHandler): Router {
  const r = Router();
  r.use('/assets', express.static(ASSETS, { index: false, fallthrough: false, maxAge: '1h' }));
  r.use(pageHeaders);
  r.use(session);
  r.use(csrfSetup(c.secretBox.derive('admin-page/csrf/v1'), () => c.config.publicUrl));
  // Anyone may call these before signing in: limited per client before any other work.
  r.use(['/sign-in', '/sso'], anonymousRateLimit(c.anonymousLimiter));
  r.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 2000 }));
  r.use(multipartForms());
  r.use(csrfGuard(() => c.config.publicUrl));
  r.use(authRoutes(c));
  r.use(loadPrincipal(c));
  r.get('/', (_req, res) => res.redirect(303, '/admin/organizations'));
  r.use(organizationPages(c));
  r.use(memberPages(c));
  r.use(memberActions(c));
  r.use(reportPages(c));
  r.use(auditPages(c));
  r.use(connectionPages(c));
  r.use(directoryPages(c));
  r.use(directoryFormPages(c));
  r.use(webhookPages(c));
  r.use(setupLinkPages(c));
  r.use(adminNotFound);
  r.use(adminErrorHandler(c.logger));
  return r;
}
