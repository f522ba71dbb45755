import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Browser } from '../helpers/sso-browser.js';

/**
 * Tenant trust (SPEC §2): secrets follow their destination. Someone who may only edit connections
 * (a narrow `update:connections` key) repoints customer A's OIDC connection at an OP they run; the
 * stored client secret must never be posted to that OP's token endpoint.
 */
const SECRET = 'customer-a-client-secret-0123456789';

/** An OP run by the attacker: discovery, and a token endpoint that records every body it gets. */
class HostileOp {
  server?: Server;
  issuer = '';
  readonly tokenBodies: string[] = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', this.issuer);
        if (url.pathname === '/.well-known/openid-configuration') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              issuer: this.issuer,
              authorization_endpoint: `${this.issuer}/auth`,
              token_endpoint: `${this.issuer}/token`,
              jwks_uri: `${this.issuer}/jwks`,
              response_types_supported: ['code'],
              subject_types_supported: ['public'],
              id_token_signing_alg_values_supported: ['RS256'],
            }),
          );
          return;
        }
        // Decoded, so a secret sent with client_secret_basic is seen as well as a posted one.
        const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
        if (url.pathname === '/token') this.tokenBodies.push(`${body} ${basic ? decodeURIComponent(Buffer.from(basic, 'base64').toString()) : (req.headers.authorization ?? '')}`);
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant' }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

let t: TestApp;
let evil: HostileOp;
let connId: string;
const ORIGINAL = { issuer: 'http://127.0.0.1:9/realms/acme', client_id: 'orgsync-acme' };

beforeEach(async () => {
  t = await startTestApp();
  evil = new HostileOp();
  await evil.start();
  const res = await t.api('POST', '/api/v1/connections', {
    body: { name: 'acme-oidc', type: 'oidc', domains: ['acme.com'], idp: { ...ORIGINAL, client_secret: SECRET } },
  });
  expect(res.status).toBe(201);
  connId = res.body.id;
});
afterEach(async () => {
  await evil.stop();
  await t.close();
});

const storedRow = () => t.container.db('connections').where({ id: connId }).first();

describe('an OIDC client secret follows its destination', () => {
  it('refuses a new issuer or client id without a new secret, changes nothing, and the secret never reaches the new OP', async () => {
    const editor = await t.keyWith('update:connections');
    const before = await storedRow();

    const answers = [];
    for (const idp of [
      { issuer: ORIGINAL.issuer, client_id: 'attacker-client' },
      { issuer: evil.issuer, client_id: 'attacker-client', scopes: ['openid', 'email'] },
      { issuer: evil.issuer, client_id: ORIGINAL.client_id },
    ]) {
      answers.push(await t.api('PATCH', `/api/v1/connections/${connId}`, { key: editor, body: { idp, name: 'renamed' } }));
    }
    // The attacker then starts a sign-in and brings any code back: the callback redeems it at the
    // token endpoint of whatever issuer the connection now has.
    const browser = new Browser();
    const login = await browser.request('GET', `${t.url}/sso/oidc/${connId}/login`);
    const location = login.headers.get('location');
    if (location?.startsWith(evil.issuer)) {
      const state = new URL(location).searchParams.get('state');
      await browser.request('GET', `${t.url}/sso/oidc/${connId}/callback?code=abc&state=${state}&iss=${encodeURIComponent(evil.issuer)}`, { headers: { accept: 'application/json' } });
    }
    expect(evil.tokenBodies.join()).not.toContain(SECRET);
    expect(evil.tokenBodies).toEqual([]);

    for (const res of answers) {
      expect(res.status, res.text).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', errorCode: 'invalid_body' });
      expect(res.body.message).toContain('idp.client_secret');
    }
    expect(await storedRow()).toEqual(before);
    expect((await t.api('GET', '/api/v1/audit-logs?action=connection.updated')).body.audit_logs).toHaveLength(0);
  });

  it('keeps the stored secret for the same issuer and client, and takes a new one with a new issuer', async () => {
    // Same destination (a trailing slash is the same issuer): the secret may be omitted.
    const same = await t.api('PATCH', `/api/v1/connections/${connId}`, { body: { idp: { issuer: `${ORIGINAL.issuer}/`, client_id: ORIGINAL.client_id, scopes: ['openid', 'email'] } } });
    expect(same.status).toBe(200);
    const kept = JSON.parse((await storedRow()).idp as string) as { client_secret_sealed: string };
    expect(t.container.secretBox.open(kept.client_secret_sealed)).toBe(SECRET);

    // A new issuer without a secret is refused, with a fresh secret it is taken.
    expect((await t.api('PATCH', `/api/v1/connections/${connId}`, { body: { idp: { issuer: evil.issuer, client_id: ORIGINAL.client_id } } })).status).toBe(400);
    const moved = await t.api('PATCH', `/api/v1/connections/${connId}`, { body: { idp: { issuer: evil.issuer, client_id: 'new-client', client_secret: 'the-new-ops-own-secret' } } });
    expect(moved.status).toBe(200);
    expect(moved.body.idp).toMatchObject({ issuer: evil.issuer, client_id: 'new-client', client_secret_set: true });
    const stored = JSON.parse((await storedRow()).idp as string) as { client_secret_sealed: string };
    expect(t.container.secretBox.open(stored.client_secret_sealed)).toBe('the-new-ops-own-secret');

    // The full flow against the new OP posts only the new secret.
    const browser = new Browser();
    const login = await browser.request('GET', `${t.url}/sso/oidc/${connId}/login`);
    const state = new URL(login.headers.get('location')!).searchParams.get('state');
    await browser.request('GET', `${t.url}/sso/oidc/${connId}/callback?code=abc&state=${state}&iss=${encodeURIComponent(evil.issuer)}`, { headers: { accept: 'application/json' } });
    expect(evil.tokenBodies).toHaveLength(1);
    expect(evil.tokenBodies[0]).toContain('the-new-ops-own-secret');
    expect(evil.tokenBodies.join()).not.toContain(SECRET);
  });
});
