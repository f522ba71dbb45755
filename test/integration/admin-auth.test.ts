import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';

describe('admin page: sign-in, sessions and CSRF', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('sends an anonymous visitor to the sign-in form, with a strict CSP and no caching', async () => {
    const res = await fetch(`${t.url}/admin/organizations`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/sign-in');
    const page = await fetch(`${t.url}/admin/sign-in`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    const text = await page.text();
    expect(text).toContain('<label for="api-key">API key</label>');
    expect(text).not.toMatch(/<script>|<style>| style=| on\w+=/);
  });

  it('signs in with a key, regenerating the session id, and keeps only the key id in the session', async () => {
    const a = new AdminClient(t.url);
    await a.get('/admin/sign-in');
    const before = a.cookie;
    const res = await a.post('/admin/sign-in', { api_key: t.adminKey });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/admin/organizations');
    expect(a.cookie).not.toBe(before);
    const page = await a.get('/admin/organizations');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Signed in with API key &quot;test-admin&quot;.');
    const rows = await t.container.db('sessions').select('data');
    expect(rows.map((r: { data: string }) => r.data).join()).not.toContain(t.adminKey);
    expect(rows.some((r: { data: string }) => r.data.includes('adminApiKeyId'))).toBe(true);
    // The pre-sign-in session id is worth nothing now.
    const old = await fetch(`${t.url}/admin/organizations`, { headers: { cookie: before }, redirect: 'manual' });
    expect(old.status).toBe(303);
  });

  it('rejects a wrong key with 401 and the form again', async () => {
    const a = new AdminClient(t.url);
    const res = await a.signIn('osk_not-a-real-key');
    expect(res.status).toBe(401);
    expect(res.text).toContain('That API key is not valid or has been revoked.');
    expect((await a.get('/admin/organizations')).status).toBe(303);
  });

  it('rejects cross-site and token-less form posts with 403', async () => {
    const a = new AdminClient(t.url);
    await a.signIn(t.adminKey);
    await a.get('/admin/organizations');
    // A form on another site: the browser sends its Origin and has no token.
    const crossSite = await a.post('/admin/sign-out', {}, { csrf: false, origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.text).toContain('This form was not sent from this admin page');
    // Right origin, no token; and the right token from another origin.
    expect((await a.post('/admin/sign-out', {}, { csrf: false })).status).toBe(403);
    expect((await a.post('/admin/sign-out', {}, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await a.post('/admin/sign-out', {}, { csrf: 'x'.repeat(43) })).status).toBe(403);
    // `Origin: null` (sandboxed frames, data: pages) is not our origin either.
    expect((await a.post('/admin/sign-out', {}, { origin: 'null' })).status).toBe(403);
    // Still signed in after all that; a proper post signs out.
    expect((await a.get('/admin/organizations')).status).toBe(200);
    const out = await a.post('/admin/sign-out');
    expect(out.status).toBe(303);
    expect((await a.get('/admin/organizations')).status).toBe(303);
  });

  it('a sign-in form posted without the token is rejected too (no login CSRF)', async () => {
    const res = await fetch(`${t.url}/admin/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ api_key: t.adminKey }),
      redirect: 'manual',
    });
    expect(res.status).toBe(403);
  });

  it('signs the session out as soon as its key is revoked', async () => {
    const key = await t.container.apiKeys.create({ name: 'temp', scopes: ['read:organizations'] }, { type: 'system', id: null });
    const a = new AdminClient(t.url);
    await a.signIn(key.key);
    expect((await a.get('/admin/organizations')).status).toBe(200);
    await t.container.apiKeys.revoke(key.id, { type: 'system', id: null });
    const res = await a.get('/admin/organizations');
    expect(res.status).toBe(303);
    const form = await a.get('/admin/sign-in');
    expect(form.text).toContain('Your API key was revoked.');
  });

  it('shows only what the key may use and denies the rest with 403', async () => {
    const key = await t.keyWith('read:organizations');
    const a = new AdminClient(t.url);
    await a.signIn(key);
    const page = await a.get('/admin/organizations');
    expect(page.text).toContain('href="/admin/organizations"');
    expect(page.text).not.toContain('href="/admin/audit"');
    expect(page.text).not.toContain('href="/admin/connections"');
    const audit = await a.get('/admin/audit');
    expect(audit.status).toBe(403);
    expect(audit.text).toContain('read:audit_logs');
  });

  it('limits sign-in attempts per client', async () => {
    const a = new AdminClient(t.url);
    await a.get('/admin/sign-in');
    let last = 0;
    for (let i = 0; i < 21; i++) last = (await a.post('/admin/sign-in', { api_key: 'osk_wrong' })).status;
    expect(last).toBe(429);
  });

  it('answers unknown admin paths with an HTML 404 page', async () => {
    const a = new AdminClient(t.url);
    await a.signIn(t.adminKey);
    const res = await a.get('/admin/nope');
    expect(res.status).toBe(404);
    expect(res.text).toContain('<h1 id="error-title">Not Found</h1>');
  });
});
