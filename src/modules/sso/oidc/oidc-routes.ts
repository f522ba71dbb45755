import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Container } from '../../../container.js';
import { ssoFailure } from '../errors.js';
import { completeLogin } from '../complete-login.js';
import type { LoginService } from '../login-service.js';
import { PreLoginCookie, PRE_LOGIN_TTL_MS } from '../pre-login-cookie.js';
import { safeReturnTo } from '../return-target.js';
import type { SsoKeys } from '../sso-keys.js';
import { publicJwk, signingKeyOf } from '../../connections/sp-keys.js';
import { OidcService, type OidcConnection, type OidcPending } from './oidc-service.js';

const pendingEntry = z.object({
  state: z.string().max(200),
  nonce: z.string().max(200),
  verifier: z.string().max(200),
  returnTo: z.string().max(2048).nullable(),
  at: z.number(),
  e: z.number(),
});

/** SPEC §6 OIDC endpoints: login (redirect to the provider) and callback. */
export function oidcRoutes(c: Container, login: LoginService, keys: SsoKeys, anonymousLimit: RequestHandler): Router {
  const r = Router();
  const oidc = new OidcService(
    () => c.config.publicUrl,
    (idp) => c.connections.clientSecret(idp),
    (conn) => async () => {
      const current = signingKeyOf(await c.spKeys.keysFor(conn));
      if (!current) throw new Error(`connection ${conn.id} has no signing key`);
      return { pem: current.privateKeyPem(), kid: current.kid };
    },
  );
  const connectionOf = async (ref: string): Promise<OidcConnection> => {
    const conn = await c.connections.load(c.db, ref);
    if (!conn || conn.type !== 'oidc') throw ssoFailure('unknown_connection');
    return conn;
  };
  // State, nonce, PKCE verifier and return target wait in the browser, sealed: no row per visitor.
  const cookieOf = (conn: OidcConnection) => new PreLoginCookie('oidc', conn.id, keys.oidcPending, pendingEntry, c.config.publicUrl.startsWith('https://'));

  // The connection's public signing keys, for an OP that authenticates us by private_key_jwt: the
  // current key and, during a rotation's overlap, the previous one. Public data; no private part.
  // Not under the sign-in budget: IdPs and OPs fetch it from shared addresses, and it is read-only
  // (a connection's missing keys are made once, not per request: SpKeyService.completeOnce).
  r.get('/sso/oidc/:connection/jwks.json', async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    const keys = await c.spKeys.keysFor(conn);
    res.setHeader('cache-control', 'no-cache');
    res.json({ keys: keys.signing.map(publicJwk) });
  });

  r.get('/sso/oidc/:connection/login', anonymousLimit, async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    const now = c.clock.now().getTime();
    const { url, pending } = await oidc.start(conn, safeReturnTo(req.query.return_to, c.config.publicUrl), now);
    const cookie = cookieOf(conn);
    cookie.write(res, [{ ...pending, e: now + PRE_LOGIN_TTL_MS }, ...cookie.read(req, now)], now);
    res.redirect(302, url);
  });

  r.get('/sso/oidc/:connection/callback', anonymousLimit, async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    const now = c.clock.now().getTime();
    const cookie = cookieOf(conn);
    const entries = cookie.read(req, now);
    // The sign-in this callback answers; with none matching, the newest one, so that openid-client
    // itself reports the state mismatch. Either way it is used once.
    const state = typeof req.query.state === 'string' ? req.query.state : undefined;
    const entry = entries.find((e) => e.state === state) ?? entries[0];
    cookie.write(res, entries.filter((e) => e !== entry), now);
    const pending: OidcPending | undefined = entry && { state: entry.state, nonce: entry.nonce, verifier: entry.verifier, returnTo: entry.returnTo, at: entry.at };
    const search = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    const profile = await oidc.finish(conn, pending, search, now);
    await completeLogin(login, req, res, conn, profile, pending?.returnTo, c.config.publicUrl);
  });
  return r;
}
