import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Container } from '../../../container.js';
import type { Connection, SamlIdp } from '../../connections/schema.js';
import { ssoFailure } from '../errors.js';
import { isAppError } from '../../../platform/errors.js';
import { completeLogin } from '../complete-login.js';
import type { LoginService } from '../login-service.js';
import { PreLoginCookie, PRE_LOGIN_TTL_MS } from '../pre-login-cookie.js';
import { safeReturnTo } from '../return-target.js';
import type { SsoKeys } from '../sso-keys.js';
import { findHandoff, saveHandoff, takeHandoff } from './handoffs.js';
import { RequestIds } from './request-ids.js';
import { SamlService } from './saml-service.js';

type SamlConnection = Connection & { type: 'saml'; idp: SamlIdp };

const pendingEntry = z.object({ requestId: z.string().max(200), returnTo: z.string().max(2048).nullable(), e: z.number() });
const HANDOFF_TOKEN = /^[A-Za-z0-9_-]{43}$/;

const otherBrowser = () =>
  ssoFailure('invalid_response', {
    why: 'no pre-login cookie of this browser names the request this response answers (started in another browser, or expired)',
    message: 'This sign-in was started in another browser, or took too long. Start the sign-in again from this browser.',
  });

/**
 * SPEC §6 SAML endpoints: metadata, SP-initiated login (HTTP-Redirect), ACS (HTTP-POST), and the
 * continuation that finishes a sign-in in the browser that started it.
 */
export function samlRoutes(c: Container, login: LoginService, keys: SsoKeys, anonymousLimit: RequestHandler): Router {
  const r = Router();
  const saml = new SamlService(c.db, c.clock, new RequestIds(keys.samlRequestIds), () => c.config.publicUrl, c.spKeys);
  const connectionOf = async (ref: string): Promise<SamlConnection> => {
    const conn = await c.connections.load(c.db, ref);
    if (!conn || conn.type !== 'saml') throw ssoFailure('unknown_connection');
    return conn;
  };
  const cookieOf = (conn: SamlConnection) => new PreLoginCookie('saml', conn.id, keys.samlPending, pendingEntry, c.config.publicUrl.startsWith('https://'));

  // Not under the sign-in budget: IdPs fetch it from shared addresses, and it is read-only (a
  // connection's missing keys are made once, not per request: SpKeyService.completeOnce).
  r.get('/sso/saml/:connection/metadata', async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    res.type('application/samlmetadata+xml').send(await saml.metadata(conn));
  });

  // The request id and the return target stay with this browser, sealed; the IdP sees neither
  // a RelayState to change nor anything we stored for it.
  r.get('/sso/saml/:connection/login', anonymousLimit, async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    const now = c.clock.now().getTime();
    const { url, requestId } = await saml.loginUrl(conn);
    const cookie = cookieOf(conn);
    const returnTo = safeReturnTo(req.query.return_to, c.config.publicUrl);
    cookie.write(res, [{ requestId, returnTo, e: now + PRE_LOGIN_TTL_MS }, ...cookie.read(req, now)], now);
    res.redirect(302, url);
  });

  // The IdP posts a form; a response is a few KiB, so anything near the limit is not one of ours.
  // The POST is cross-site and carries no cookie of ours: the validated response waits, once, for
  // the same-site GET it is redirected to, which does.
  r.post('/sso/saml/:connection/acs', anonymousLimit, express.urlencoded({ extended: false, limit: '256kb', parameterLimit: 10 }), async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.SAMLResponse !== 'string' || body.SAMLResponse.length === 0) throw ssoFailure('invalid_response', { why: 'no SAMLResponse' });
    const { profile, requestId } = await saml.validate(conn, body.SAMLResponse).catch(async (err: unknown) => {
      // The IdP's signed answer named nobody we can keep track of: refused like the login service's
      // own refusals, and audited the same way (an unsigned or forged response never gets here).
      if (isAppError(err) && err.code === 'subject_not_persistent') {
        await login.recordDenied(conn, err, { protocol: 'saml', why: (err.options.detail as { why?: string } | undefined)?.why });
      }
      throw err;
    });
    // RelayState counts only for IdP-initiated sign-ins (SP-initiated ones kept their target here).
    const relayState = requestId ? null : safeReturnTo(body.RelayState, c.config.publicUrl);
    const token = await saveHandoff(c.db, { connectionId: conn.id, requestId, relayState, profile }, c.clock.now());
    res.redirect(303, `/sso/saml/${encodeURIComponent(conn.id)}/continue?handoff=${token}`);
  });

  r.get('/sso/saml/:connection/continue', anonymousLimit, async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    const token = typeof req.query.handoff === 'string' && HANDOFF_TOKEN.test(req.query.handoff) ? req.query.handoff : undefined;
    const now = c.clock.now();
    const handoff = token ? await findHandoff(c.db, conn.id, token, now) : undefined;
    if (!token || !handoff) {
      throw ssoFailure('invalid_response', { why: 'unknown, used or expired continuation', message: 'This sign-in link was already used or has expired. Start the sign-in again.' });
    }
    let returnTo = handoff.relayState;
    if (handoff.requestId) {
      // SP-initiated: only the browser holding this request's pre-login cookie may finish it. A
      // wrong browser leaves the handoff in place for the right one.
      const cookie = cookieOf(conn);
      const entries = cookie.read(req, now.getTime());
      const entry = entries.find((e) => e.requestId === handoff.requestId);
      if (!entry) throw otherBrowser();
      cookie.write(res, entries.filter((e) => e !== entry), now.getTime());
      returnTo = entry.returnTo;
    }
    if (!(await takeHandoff(c.db, conn.id, token))) throw ssoFailure('replay');
    await completeLogin(login, req, res, conn, handoff.profile, returnTo, c.config.publicUrl);
  });
  return r;
}
