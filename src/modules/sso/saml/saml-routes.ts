import express, { Router } from 'express';
import type { Container } from '../../../container.js';
import type { Connection, SamlIdp } from '../../connections/schema.js';
import { ssoFailure } from '../errors.js';
import { completeLogin } from '../complete-login.js';
import type { LoginService } from '../login-service.js';
import { safeReturnTo } from '../return-target.js';
import { SamlService } from './saml-service.js';

type SamlConnection = Connection & { type: 'saml'; idp: SamlIdp };

/** SPEC §6 SAML endpoints: metadata, SP-initiated login (HTTP-Redirect), ACS (HTTP-POST). */
export function samlRoutes(c: Container, login: LoginService): Router {
  const r = Router();
  const saml = new SamlService(c.db, c.clock, c.ids, () => c.config.publicUrl);
  const connectionOf = async (ref: string): Promise<SamlConnection> => {
    const conn = await c.connections.load(c.db, ref);
    if (!conn || conn.type !== 'saml') throw ssoFailure('unknown_connection');
    return conn;
  };

  r.get('/sso/saml/:connection/metadata', async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    res.type('application/samlmetadata+xml').send(saml.metadata(conn));
  });

  r.get('/sso/saml/:connection/login', async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    // RelayState carries return_to through the IdP; it is checked again when it comes back.
    res.redirect(302, await saml.loginUrl(conn, safeReturnTo(req.query.return_to, c.config.publicUrl) ?? ''));
  });

  // The IdP posts a form; a response is a few KiB, so anything near the limit is not one of ours.
  r.post('/sso/saml/:connection/acs', express.urlencoded({ extended: false, limit: '256kb', parameterLimit: 10 }), async (req, res) => {
    const conn = await connectionOf(String(req.params.connection));
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.SAMLResponse !== 'string' || body.SAMLResponse.length === 0) throw ssoFailure('invalid_response', { why: 'no SAMLResponse' });
    const profile = await saml.validate(conn, body.SAMLResponse);
    await completeLogin(login, req, res, conn, profile, body.RelayState, c.config.publicUrl);
  });
  return r;
}
