import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createOrgs, samlConnection } from '../helpers/sso-setup.js';
import { sign, type SamlTestIdp } from '../helpers/saml-idp.js';

/** SAML attack cases of issue 9 beyond the ones sso-saml.test.ts covers, each from a fixture. */
let t: TestApp;
let conn: { idp: SamlTestIdp; id: string; acsUrl: string; spEntityId: string };
const alice = { nameId: 'alice@acme.com', email: 'alice@acme.com', groups: [] };
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/saml/responses/${name}`, import.meta.url), 'utf8');

beforeEach(async () => {
  t = await startTestApp();
  await createOrgs(t, 'acme');
  conn = await samlConnection(t, { membership_rules: [{ organization: 'acme', role: 'member' }] });
});
afterEach(async () => {
  await conn.idp.stop();
  await t.close();
});

async function requestId(): Promise<string> {
  const res = await fetch(`${t.url}/sso/saml/${conn.id}/login`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return (await t.container.db('saml_requests').where({ connection_id: conn.id }).orderBy('created_at', 'desc').first()).id;
}

const postAcs = async (samlResponse: string) => {
  const res = await fetch(conn.acsUrl, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams({ SAMLResponse: samlResponse }).toString() });
  return { status: res.status, text: await res.text(), cookies: res.headers.getSetCookie().join('') };
};

describe('SAML responses refused (fixtures/saml/responses)', () => {
  for (const scenario of ['not-yet-valid', 'assertion-from-other-idp']) {
    it(`${scenario} → 400 invalid_response, nobody signed in`, async () => {
      const { samlResponse } = conn.idp.scenario(scenario, { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId: await requestId(), user: alice });
      const res = await postAcs(samlResponse);
      expect(res.status, res.text).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ errorCode: 'invalid_response' });
      expect(res.cookies).not.toContain('orgsync.sid');
      expect(await t.container.db('identities')).toHaveLength(0);
    });
  }

  it('comment injection in NameID never signs in the truncated subject', async () => {
    const spec = JSON.parse(fixture('comment-injection-nameid.json')) as { vars: Record<string, string>; after_signing: { replace: string; with: string } };
    const v = { acsUrl: conn.acsUrl, spEntityId: conn.spEntityId, requestId: await requestId(), user: alice, overrides: spec.vars };
    const signed = sign(conn.idp.fill(fixture('response.template.xml'), v).xml, 'response', 'idp-test-only');
    expect(signed).toContain(spec.after_signing.replace);
    const tampered = signed.replace(spec.after_signing.replace, spec.after_signing.with);
    const res = await postAcs(Buffer.from(tampered).toString('base64'));
    // Refusing is fine; accepting is fine only as the full signed subject, never as alice.
    expect([200, 303, 400]).toContain(res.status);
    const subjects = await t.container.db('identities').pluck('subject');
    expect(subjects).not.toContain('alice@acme.com');
    if (res.status !== 400) expect(subjects).toEqual(['alice@acme.com.evil.example']);
  });
});
