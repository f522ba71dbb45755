import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { samlConnection } from '../helpers/sso-setup.js';
import { sign, type SamlTestIdp } from '../helpers/saml-idp.js';
import { Browser } from '../helpers/sso-browser.js';
import { createTestDatabase } from '../helpers/db.js';
import { migrationSource } from '../../migrations/index.js';

/**
 * Tenant trust (issue on tenant trust item 7): SHA-1 XML signatures are refused unless a connection
 * opts in for a legacy IdP. A SHA-1 signature can be forged by collision, so accepting it lets
 * whoever can compute one sign in as anyone at customer A; customer B's opt-in must not weaken A.
 */
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const TEMPLATE = readFileSync(new URL('../../fixtures/saml/responses/response.template.xml', import.meta.url), 'utf8');

let t: TestApp;
let a: { idp: SamlTestIdp; id: string; acsUrl: string; spEntityId: string };
const alice = { nameId: 'alice@acme.com', email: 'alice@acme.com', groups: [] };
const json = { accept: 'application/json' };

beforeEach(async () => {
  t = await startTestApp();
  a = await samlConnection(t);
});
afterEach(async () => {
  await a.idp.stop();
  await t.close();
});

/** Why each refused sign-in was refused, as the server logs it (the page shows the reason code). */
function refusals(): string[] {
  const whys: string[] = [];
  vi.spyOn(t.container.logger, 'info').mockImplementation(((obj: { detail?: { why?: string } } | undefined) => {
    if (obj?.detail?.why) whys.push(obj.detail.why);
  }) as never);
  return whys;
}

/** A full browser sign-in through the connection's IdP; the last page as JSON, and /me. */
async function signIn(conn: { id: string }): Promise<{ status: number; body: unknown; me: number }> {
  const browser = new Browser();
  const page = await browser.follow('GET', `${t.url}/sso/saml/${conn.id}/login`, { headers: json });
  const me = await browser.request('GET', `${t.url}/api/v1/me`);
  let body: unknown;
  try {
    body = JSON.parse(page.text);
  } catch {
    body = page.text;
  }
  return { status: page.status, body, me: me.status };
}

/** Starts a sign-in in a browser and answers it with `build(requestId)`, posted from that browser. */
async function answer(build: (requestId: string) => string): Promise<{ status: number; text: string; me: number }> {
  const browser = new Browser();
  const start = await browser.request('GET', `${t.url}/sso/saml/${a.id}/login`);
  const to = new URL(start.headers.get('location')!);
  const request = inflateRawSync(Buffer.from(to.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  const requestId = /\sID="([^"]+)"/.exec(request)![1]!;
  const body = new URLSearchParams({ SAMLResponse: Buffer.from(build(requestId)).toString('base64'), RelayState: to.searchParams.get('RelayState') ?? '' });
  // A valid response goes on to the continuation (303), which finishes the sign-in in this browser.
  const res = await browser.follow('POST', a.acsUrl, { body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...json } });
  return { status: res.status, text: res.text, me: (await browser.request('GET', `${t.url}/api/v1/me`)).status };
}

const fresh = (requestId: string) => a.idp.fill(TEMPLATE, { acsUrl: a.acsUrl, spEntityId: a.spEntityId, requestId, user: alice }).xml;

describe('SHA-1 SAML signatures', () => {
  it('are refused by default from an IdP signing with RSA-SHA1, and accepted only by the connection that opts in', async () => {
    const whys = refusals();
    a.idp.signatureAlgorithm = RSA_SHA1;
    const refused = await signIn(a);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ statusCode: 400, errorCode: 'invalid_response', reason: 'invalid_response' });
    expect(refused.me).toBe(401);
    expect(whys.some((w) => /SHA-1/.test(w) && w.includes('allow_sha1_signatures'))).toBe(true);
    expect(await t.container.db('users')).toHaveLength(0);
    expect((await t.api('GET', `/api/v1/connections/${a.id}`)).body.allow_sha1_signatures).toBe(false);

    // Customer B runs a legacy IdP and opts in: B's users sign in, A stays closed to SHA-1.
    const b = await samlConnection(t, { name: 'globex-saml', domains: ['globex.com'], allow_sha1_signatures: true });
    try {
      b.idp.signatureAlgorithm = RSA_SHA1;
      b.idp.user = { nameId: 'gus@globex.com', email: 'gus@globex.com', groups: [] };
      const accepted = await signIn(b);
      expect(accepted.me, JSON.stringify(accepted.body)).toBe(200);
      expect((await signIn(a)).status).toBe(400);
    } finally {
      await b.idp.stop();
    }

    // A opts in explicitly (a documented per-connection setting) and then accepts it.
    const patched = await t.api('PATCH', `/api/v1/connections/${a.id}`, { body: { allow_sha1_signatures: true } });
    expect(patched.status).toBe(200);
    expect(patched.body.allow_sha1_signatures).toBe(true);
    expect((await signIn(a)).me).toBe(200);
  });

  it('are refused wherever SHA-1 appears: signature method, digest, the assertion, or an assertion inside a SHA-256 response', async () => {
    const whys = refusals();
    const cases: Array<[string, (id: string) => string]> = [
      ['response RSA-SHA256 with a SHA-1 digest', (id) => sign(fresh(id), 'response', 'idp-test-only', { signature: RSA_SHA256, digest: SHA1 })],
      ['response RSA-SHA1 with a SHA-256 digest', (id) => sign(fresh(id), 'response', 'idp-test-only', { signature: RSA_SHA1, digest: SHA256 })],
      ['assertion only, RSA-SHA1 and SHA-1', (id) => sign(fresh(id), 'assertion', 'idp-test-only', { signature: RSA_SHA1, digest: SHA1 })],
      ['SHA-256 response around a SHA-1 assertion', (id) => sign(sign(fresh(id), 'assertion', 'idp-test-only', { signature: RSA_SHA1, digest: SHA1 }), 'response', 'idp-test-only')],
    ];
    const outcomes: string[] = [];
    for (const [name, build] of cases) {
      const res = await answer(build);
      outcomes.push(`${name}: ${res.status} ${res.status === 400 ? (JSON.parse(res.text) as { errorCode: string }).errorCode : ''}`);
    }
    expect(outcomes).toEqual(cases.map(([name]) => `${name}: 400 invalid_response`));
    expect(whys.filter((w) => /SHA-1/.test(w))).toHaveLength(cases.length);
    expect(await t.container.db('users')).toHaveLength(0);

    // The same responses signed with SHA-256 throughout are accepted.
    expect((await answer((id) => sign(fresh(id), 'response', 'idp-test-only'))).me).toBe(200);
    expect((await answer((id) => sign(fresh(id), 'assertion', 'idp-test-only'))).me).toBe(200);
  });
});

describe('the allow_sha1_signatures column (migration 260)', () => {
  it('is off for existing connections, and migrating down and up again keeps every other row', async () => {
    const d = await createTestDatabase();
    try {
      const all = await migrationSource.getMigrations([]);
      const before = all.filter((m) => m < '260');
      // Up to the migration before this one, with a connection that rows elsewhere refer to.
      for (let i = 0; i < before.length; i++) await d.db.migrate.up({ migrationSource });
      const now = new Date().toISOString();
      await d.db('connections').insert({ id: 'c1', name: 'legacy', type: 'saml', idp: '{}', attribute_mapping: '{}', created_at: now, updated_at: now });
      await d.db('connection_domains').insert({ domain: 'legacy.example', connection_id: 'c1' });
      await d.db.migrate.up({ migrationSource });
      expect(Boolean((await d.db('connections').where({ id: 'c1' }).first()).allow_sha1_signatures)).toBe(false);
      await d.db.migrate.down({ migrationSource });
      expect(Object.keys(await d.db('connections').where({ id: 'c1' }).first())).not.toContain('allow_sha1_signatures');
      expect(await d.db('connection_domains')).toHaveLength(1);
      await d.db.migrate.up({ migrationSource });
      expect(await d.db('connection_domains').where({ connection_id: 'c1' })).toHaveLength(1);
    } finally {
      await d.cleanup();
    }
  });
});
