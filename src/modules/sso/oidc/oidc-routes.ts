import { Router } from 'express';
import type { Container } from '../../../container.js';
import { ssoFailure } from '../errors.js';
import { completeLogin } from '../complete-login.js';
import type { LoginService } from '../login-service.js';
import { safeReturnTo } from '../return-target.js';
import { OidcService, type OidcConnection, type OidcPending } from './oidc-service.js';

declare module 'express-session' {
  interface SessionData {
    /** Sign-ins in progress, one per connection (its own session key), until the callback. */
    oidc?: Record<string, OidcPending>;
  }
}

/** SPEC §6 OIDC endpoints: login (redirect to the provider) and callback. */
export function oidcRoutes(c: Container, login: LoginService): Router {
  const r = Router();
  const oidc = new OidcService(() => c.config.publicUrl, (idp) => c.connections.clientSecret(idp));
  const connectionOf = async (ref: string): Promise<OidcConnection> => {
    const conn = await c.connections.load(c.db, ref);
    if (!conn || conn.type !== 'oidc') throw ssoFailure('unknown_connection');
    return conn;
  };

  r.get('/sso/oidc/:connection/login', async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    const { url, pending } = await oidc.start(conn, safeReturnTo(req.query.return_to, c.config.publicUrl), c.clock.now().getTime());
    req.session.oidc = { ...req.session.oidc, [conn.id]: pending };
    await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err as Error) : resolve())));
    res.redirect(302, url);
  });

  r.get('/sso/oidc/:connection/callback', async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    const pending = req.session.oidc?.[conn.id];
    if (req.session.oidc) delete req.session.oidc[conn.id];
    const search = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    const profile = await oidc.finish(conn, pending, search, c.clock.now().getTime());
    await completeLogin(login, req, res, conn, profile, pending?.returnTo, c.config.publicUrl);
  });
  return r;
}
