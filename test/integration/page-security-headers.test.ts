import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Browsers exempt only localhost and 127.0.0.1 from `upgrade-insecure-requests`: on any other http
 * host (a LAN name, orgsync.test in the browser story) it sends every asset and form to https.
 */
let t: TestApp;
afterEach(async () => {
  await t.close();
});

const csp = (res: Response) => res.headers.get('content-security-policy') ?? '';

describe('page headers follow the scheme of PUBLIC_URL', () => {
  beforeEach(async () => {
    t = await startTestApp();
  });

  it('leaves out upgrade-insecure-requests and HSTS when PUBLIC_URL is plain http on any host, keeps them for https', async () => {
    t.container.config = { ...t.container.config, publicUrl: 'http://orgsync.test:3100' };
    for (const path of ['/admin/sign-in', '/account', '/sso/saml/nope/login']) {
      const res = await fetch(t.url + path, { headers: { accept: 'text/html' }, redirect: 'manual' });
      expect(csp(res), path).toContain("script-src 'self'");
      expect(csp(res), path).not.toContain('upgrade-insecure-requests');
      expect(res.headers.get('strict-transport-security'), path).toBeNull();
      expect(res.headers.get('cross-origin-opener-policy'), path).toBeNull();
    }
    t.container.config = { ...t.container.config, publicUrl: 'https://sso.example.com' };
    const res = await fetch(`${t.url}/admin/sign-in`, { redirect: 'manual' });
    expect(csp(res)).toContain('upgrade-insecure-requests');
    expect(res.headers.get('strict-transport-security')).toContain('max-age=');
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
  });

  it('sends Referrer-Policy same-origin on /account, so the browser sends its real Origin when signing out', async () => {
    const res = await fetch(`${t.url}/account`);
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
  });
});

