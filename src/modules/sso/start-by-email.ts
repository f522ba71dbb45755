import { Router, type RequestHandler } from 'express';
import type { Container } from '../../container.js';
import { AppError } from '../../platform/errors.js';
import { connectionIdForDomain } from '../connections/queries.js';
import { oidcSp, samlSp } from '../connections/sp-urls.js';
import { signInBody } from './account-page.js';
import { escapeHtml as h, page, wantsJson } from './web.js';
import { safeReturnTo } from './return-target.js';

/** The connection that verified the email's domain: its sign-in URL back to `returnTo`, if any. */
export async function loginUrlForEmail(c: Container, email: string, returnTo: string): Promise<string | undefined> {
  const at = email.lastIndexOf('@');
  const domain = at > 0 ? email.slice(at + 1).trim().toLowerCase() : '';
  if (!domain) return undefined;
  const connectionId = await connectionIdForDomain(c.db, domain);
  const connection = connectionId ? await c.connections.load(c.db, connectionId) : undefined;
  if (!connection) return undefined;
  const sp = connection.type === 'saml' ? samlSp(c.config.publicUrl, connection.id) : oidcSp(c.config.publicUrl, connection.id);
  return `${sp.login_url}?return_to=${encodeURIComponent(returnTo)}`;
}

/** The page that hands the browser to the identity provider (see `page`'s `refreshTo`). */
export function handOff(res: Parameters<typeof page>[0], loginUrl: string): void {
  page(
    res,
    200,
    'Continuing to your identity provider',
    `<h1>Continuing to your identity provider…</h1><p><a class="button" href="${h(loginUrl)}">Continue</a></p>`,
    { refreshTo: loginUrl },
  );
}

/**
 * `GET /sso/start?email=&return_to=`: home-realm discovery for people who are not signed in. Like
 * every SSO start it says only whether the domain has a sign-in connection, which its login URL
 * shows anyway; the domain is all it reads from the email.
 */
export function startByEmailRoutes(c: Container, anonymousLimit: RequestHandler): Router {
  const r = Router();
  r.get('/sso/start', anonymousLimit, async (req, res) => {
    const email = typeof req.query.email === 'string' ? req.query.email.trim().slice(0, 320) : '';
    const returnTo = safeReturnTo(req.query.return_to, c.config.publicUrl) ?? '/account';
    const loginUrl = email ? await loginUrlForEmail(c, email, returnTo) : undefined;
    if (wantsJson(req)) {
      if (!loginUrl) throw new AppError('unknown_domain', 404, 'No sign-in connection has verified this email domain.');
      res.json({ login_url: loginUrl });
      return;
    }
    if (!loginUrl) {
      const error = email
        ? `No sign-in connection has verified the domain of ${email}. Check the address, or ask your administrator.`
        : 'Enter your work email.';
      page(res, email ? 404 : 400, 'Sign in', signInBody({ returnTo, email, error }));
      return;
    }
    handOff(res, loginUrl);
  });
  return r;
}
