import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createScimDirectory, type ScimClient } from '../helpers/scim-builders.js';
import { samlConnection } from '../helpers/sso-setup.js';
import { sha256 } from '../../src/platform/crypto.js';

let t: TestApp;
let scim: ScimClient;

beforeAll(async () => {
  t = await startTestApp();
  scim = await createScimDirectory(t, { domains: ['like.example'] });
  for (const userName of ['100%real@like.example', '1000real@like.example', 'under_score@like.example', 'underXscore@like.example', 'back\\slash@like.example']) {
    const r = await scim.req('POST', '/Users', { body: { userName, active: true } });
    expect(r.status, r.text).toBe(201);
  }
  for (const displayName of ['50% off', '500 off', 'a_b', 'axb']) expect((await scim.req('POST', '/Groups', { body: { displayName } })).status).toBe(201);
});
afterAll(async () => {
  await t.close();
});

const names = async (kind: 'Users' | 'Groups', filter: string): Promise<string[]> => {
  const r = await scim.req('GET', `/${kind}?filter=${encodeURIComponent(filter)}`);
  expect(r.status, r.text).toBe(200);
  return (r.body.Resources as Array<{ userName?: string; displayName?: string }>).map((x) => x.userName ?? x.displayName!).sort();
};

describe('LIKE metacharacters in user input match literally', () => {
  it('SCIM co / sw / ew with % _ and \\', async () => {
    expect(await names('Users', 'userName co "%"')).toEqual(['100%real@like.example']);
    expect(await names('Users', 'userName co "_"')).toEqual(['under_score@like.example']);
    expect(await names('Users', 'userName sw "100%"')).toEqual(['100%real@like.example']);
    expect(await names('Users', 'userName ew "_score@like.example"')).toEqual(['under_score@like.example']);
    expect(await names('Users', 'userName co "\\\\"')).toEqual(['back\\slash@like.example']);
    expect(await names('Groups', 'displayName co "%"')).toEqual(['50% off']);
    expect(await names('Groups', 'displayName co "_"')).toEqual(['a_b']);
  });

  it('GET /api/v1/users?email= with % and _ is an exact match, not a pattern', async () => {
    for (const pattern of ['%', '%@like.example', '_nder_score@like.example']) {
      const r = await t.api('GET', `/api/v1/users?email=${encodeURIComponent(pattern)}`);
      expect(r.status).toBe(200);
      expect(r.body.users, pattern).toEqual([]);
    }
    const exact = await t.api('GET', `/api/v1/users?email=${encodeURIComponent('100%REAL@like.example')}`);
    expect(exact.body.users.map((u: { email: string }) => u.email)).toEqual(['100%real@like.example']);
  });
});

describe('body-size limits answer 413 in each protocol’s own error shape', () => {
  const big = (bytes: number) => 'x'.repeat(bytes);

  it('SCIM: a body over 1 MiB', async () => {
    const r = await scim.req('POST', '/Users', { raw: JSON.stringify({ userName: 'big@like.example', title: big(1024 * 1024) }) });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '413' });
    expect(r.text).not.toMatch(/at \w+ \(|<html/i);
    const small = await scim.req('POST', '/Users', { raw: JSON.stringify({ userName: 'almost@like.example', title: big(1024 * 1024 - 200) }) });
    expect(small.status).toBe(201);
  });

  it('management API: a body over 1 MiB', async () => {
    const r = await t.api('POST', '/api/v1/organizations', { raw: JSON.stringify({ name: 'big', display_name: big(1024 * 1024) }) });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    expect(typeof r.body.errorCode).toBe('string');
  });

  it('SAML ACS: a response far larger than any IdP sends', async () => {
    const conn = await samlConnection(t);
    try {
      const res = await fetch(conn.acsUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ SAMLResponse: Buffer.from(big(400 * 1024)).toString('base64') }).toString(),
      });
      expect(res.status).toBe(413);
      const text = await res.text();
      expect(text).not.toMatch(/at \w+ \(/);
    } finally {
      await conn.idp.stop();
    }
  });
});

describe('secrets at rest', () => {
  it('keeps only digests of API keys and directory tokens, so lookups compare digests, never the secret', async () => {
    const key = await t.keyWith('read:organizations');
    const keyRow = await t.container.db('api_keys').where({ key_hash: sha256(key) }).first();
    expect(keyRow).toBeTruthy();
    const tokenRow = await t.container.db('directory_tokens').where({ token_hash: sha256(scim.token) }).first();
    expect(tokenRow).toBeTruthy();
    const dump = JSON.stringify([await t.container.db('api_keys'), await t.container.db('directory_tokens')]);
    expect(dump).not.toContain(key);
    expect(dump).not.toContain(scim.token);
    // Same length, one character off, and the right token on another directory: all the same 401.
    const other = await createScimDirectory(t, { domains: ['other-like.example'], name: 'other' });
    const near = scim.token.slice(0, -1) + (scim.token.endsWith('A') ? 'B' : 'A');
    for (const token of [near, other.token, '']) expect((await scim.req('GET', '/Users', { token })).status).toBe(401);
  });
});
