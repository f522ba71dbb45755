import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** `GET /` and the management API's answers to the first requests people write by hand. */
let t: TestApp;
afterEach(async () => {
  await t.close();
});

describe('GET /', () => {
  beforeEach(async () => {
    t = await startTestApp();
  });

  it('shows a browser where to go, and keeps the JSON 404 for other clients', async () => {
    const browser = await fetch(`${t.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
    expect(browser.status).toBe(200);
    const page = await browser.text();
    for (const link of ['href="/admin"', 'href="/account"', 'href="/api/v1/openapi.json"']) expect(page).toContain(link);
    for (const accept of ['application/json', '*/*', undefined]) {
      const res = await fetch(`${t.url}/`, { headers: accept ? { accept } : {} });
      expect(res.status, String(accept)).toBe(404);
      expect(await res.json()).toMatchObject({ statusCode: 404, errorCode: 'not_found' });
    }
  });
});

describe('management API answers for the first requests people write by hand', () => {
  beforeEach(async () => {
    t = await startTestApp();
  });

  it('answers 415 naming application/json for a body that is not JSON, and still 400 naming the field for JSON', async () => {
    const body = JSON.stringify({ name: 'acme' });
    for (const type of ['application/x-www-form-urlencoded', 'text/plain;charset=UTF-8', undefined]) {
      const headers: Record<string, string> = { authorization: `Bearer ${t.adminKey}` };
      if (type) headers['content-type'] = type;
      // A Blob without a type leaves the request with no Content-Type at all.
      const res = await fetch(`${t.url}/api/v1/organizations`, { method: 'POST', headers, body: type ? body : new Blob([body]) });
      expect(res.status, String(type)).toBe(415);
      const json = await res.json();
      expect(json).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type', errorCode: 'unsupported_media_type' });
      expect(json.message).toContain('Content-Type: application/json');
    }
    expect((await t.api('POST', '/api/v1/organizations', { body: {} })).body.message).toContain('name');
    expect((await t.api('POST', '/api/v1/organizations', { body: { name: 'acme' } })).status).toBe(201);
    const doc = (await t.api('GET', '/api/v1/openapi.json', { key: null })).body;
    expect(doc.paths['/organizations'].post.responses['415'].description).toBe('Unsupported Media Type');
    expect(doc.paths['/organizations'].get.responses['415']).toBeUndefined();
    // Without a key the answer is still 401: the media type is checked only for callers who may call.
    const anonymous = await fetch(`${t.url}/api/v1/organizations`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    expect(anonymous.status).toBe(401);
  });

  it('names the whole path of an unknown route', async () => {
    const res = await t.api('GET', '/api/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body.message).toBe('No route for GET /api/v1/nope.');
  });
});

