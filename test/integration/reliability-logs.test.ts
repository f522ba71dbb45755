import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DATABASE_URL } from '../helpers/db.js';
import { freePort, tempDir } from '../helpers/process.js';
import { crossInstanceLogin, scimOn, startInstance } from '../helpers/multi-instance.js';
import { samlConnection, createOrgs } from '../helpers/sso-setup.js';
import { autoPostForm, Browser } from '../helpers/sso-browser.js';

const KEY = 'logs-bootstrap-key-0123456789abcdef';
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('captured logs of a real server at LOG_LEVEL=trace', () => {
  it('never contain SCIM tokens, SAMLResponse payloads, session cookies or API keys', async () => {
    let url = `sqlite:${join(tempDir(), 'orgsync.sqlite')}`;
    if (TEST_DATABASE_URL) {
      const d = await createTestDatabase('postgres');
      cleanups.push(() => d.cleanup());
      url = d.url;
    }
    const port = await freePort();
    const s = await startInstance({ DATABASE_URL: url, ORGSYNC_BOOTSTRAP_API_KEY: KEY, LOG_LEVEL: 'trace', PUBLIC_URL: `http://127.0.0.1:${port}` }, KEY, port);
    cleanups.push(() => s.stop());

    await createOrgs(s, 'acme');
    const conn = await samlConnection(s, { membership_rules: [{ organization: 'acme', role: 'member' }] });
    cleanups.push(() => conn.idp.stop());
    const dir = await s.api('POST', '/api/v1/directories', { body: { connection_id: conn.id, name: 'acme' } });
    const scim = scimOn(s.url, dir.body.id, dir.body.token);
    expect((await scim('POST', '/Users', { userName: 'alice@acme.com', active: true })).status).toBe(201);
    expect((await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "alice@acme.com"')}`)).status).toBe(200);
    const wrongToken = 'osd_wrong-token-that-is-also-secret';
    expect((await scimOn(s.url, dir.body.id, wrongToken)('GET', '/Users')).status).toBe(401);

    // A full sign-in, keeping the SAMLResponse the browser posted and the session cookie it got.
    const login = await crossInstanceLogin(s.url, s.url, conn.id, conn.idp, { nameId: 'alice@acme.com', email: 'alice@acme.com' });
    expect(login.status).toBe(303);
    const browser = new Browser();
    const toIdp = await browser.request('GET', `${s.url}/sso/saml/${conn.id}/login`);
    const form = autoPostForm((await browser.request('GET', toIdp.headers.get('location')!)).text)!;
    const samlResponse = form.fields.SAMLResponse!;
    const preLogin = browser.cookie(s.url, `orgsync.saml.${conn.id}`)!;
    const acs = await browser.request('POST', form.action, { body: new URLSearchParams(form.fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(acs.status).toBe(303);
    // The continuation that finishes the sign-in in this browser: its one-time token is a secret too.
    const continuation = new URL(acs.headers.get('location')!, form.action);
    const handoff = continuation.searchParams.get('handoff')!;
    const done = await browser.request('GET', continuation.href);
    expect(done.status).toBe(303);
    const cookie = browser.cookie(s.url, 'orgsync.sid')!;
    expect((await browser.request('GET', `${s.url}/api/v1/me`)).status).toBe(200);
    // A replay of the same response is refused — and the refusal is logged without the payload too.
    const replay = await fetch(form.action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form.fields).toString() });
    expect(replay.status).toBe(400);

    await new Promise((r) => setTimeout(r, 300));
    const out = s.output();
    expect(out).toMatch(/"path":"\/scim\/v2\/[^"]+\/Users","status":201/);
    expect(out).toMatch(/"path":"\/sso\/saml\/[^"]+\/acs"/);
    const secrets = { token: dir.body.token as string, wrongToken, key: KEY, samlResponse, samlHead: samlResponse.slice(0, 40), cookie: decodeURIComponent(cookie), preLogin, handoff };
    for (const [what, secret] of Object.entries(secrets)) expect(out.includes(secret), `${what} appears in the logs`).toBe(false);
    expect(out).not.toContain('userName eq'); // nor are SCIM filters
  });
});
