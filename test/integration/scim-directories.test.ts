import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { insertConnection } from '../helpers/scim-builders.js';
import { ManualClock } from '../../src/platform/clock.js';
import { sha256 } from '../../src/platform/crypto.js';

let t: TestApp;
let clock: ManualClock;
beforeEach(async () => {
  clock = new ManualClock(new Date());
  t = await startTestApp({ clock });
});
afterEach(async () => {
  await t.close();
});

const scimGet = (token: string, dir: string) => fetch(`${t.url}/scim/v2/${dir}/ServiceProviderConfig`, { headers: { authorization: `Bearer ${token}` } });

describe('directories API', () => {
  it('creates a directory with its SCIM URL and a token shown once and stored hashed', async () => {
    const conn = await insertConnection(t.container.db, { name: 'acme-okta' });
    const res = await t.api('POST', '/api/v1/directories', { body: { connection_id: conn, name: 'Acme Okta' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ connection_id: conn, name: 'Acme Okta', scim_base_url: `${t.url}/scim/v2/${res.body.id}`, users: 0, groups: 0 });
    expect(res.body.token).toMatch(/^osd_/);
    const stored = await t.container.db('directory_tokens').where({ directory_id: res.body.id });
    expect(stored).toHaveLength(1);
    expect(stored[0].token_hash).toBe(sha256(res.body.token));
    expect(JSON.stringify(stored)).not.toContain(res.body.token);

    const got = await t.api('GET', `/api/v1/directories/${res.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body.token).toBeUndefined();
    expect(got.body.tokens).toHaveLength(1);
    const list = await t.api('GET', '/api/v1/directories');
    expect(list.body).toMatchObject({ directories: [{ id: res.body.id }], next: null });
    expect(await t.container.db('audit_events').where({ action: 'directory.created' })).toHaveLength(1);
    expect((await scimGet(res.body.token, res.body.id)).status).toBe(200);
  });

  it('allows one directory per connection (409 directory_exists) and names the bad connection (400)', async () => {
    const conn = await insertConnection(t.container.db);
    expect((await t.api('POST', '/api/v1/directories', { body: { connection_id: conn } })).status).toBe(201);
    const again = await t.api('POST', '/api/v1/directories', { body: { connection_id: conn } });
    expect(again.status).toBe(409);
    expect(again.body.errorCode).toBe('directory_exists');
    const bad = await t.api('POST', '/api/v1/directories', { body: { connection_id: 'nope' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errorCode).toBe('invalid_body');
    expect(bad.body.message).toContain('connection_id');
    expect((await t.api('GET', '/api/v1/directories/nope')).status).toBe(404);
  });

  it('requires the directories scopes', async () => {
    const conn = await insertConnection(t.container.db);
    const reader = await t.keyWith('read:directories');
    const denied = await t.api('POST', '/api/v1/directories', { key: reader, body: { connection_id: conn } });
    expect(denied.status).toBe(403);
    expect(denied.body.errorCode).toBe('insufficient_scope');
    expect((await t.api('GET', '/api/v1/directories', { key: reader })).status).toBe(200);
  });

  it('rotates tokens: the old one works for the grace period only; audit directory.token_rotated', async () => {
    const conn = await insertConnection(t.container.db);
    const created = await t.api('POST', '/api/v1/directories', { body: { connection_id: conn } });
    const id = created.body.id as string;
    const first = created.body.token as string;

    const rotated = await t.api('POST', `/api/v1/directories/${id}/tokens`, { body: { grace_seconds: 60 } });
    expect(rotated.status).toBe(201);
    const second = rotated.body.token as string;
    expect(second).not.toBe(first);
    expect((await scimGet(first, id)).status).toBe(200);
    expect((await scimGet(second, id)).status).toBe(200);
    clock.advance(61_000);
    expect((await scimGet(first, id)).status).toBe(401);
    expect((await scimGet(second, id)).status).toBe(200);

    // Default grace is 0: the previous token stops at once.
    const third = (await t.api('POST', `/api/v1/directories/${id}/tokens`, { body: {} })).body.token as string;
    expect((await scimGet(second, id)).status).toBe(401);
    expect((await scimGet(third, id)).status).toBe(200);
    expect(await t.container.db('audit_events').where({ action: 'directory.token_rotated' })).toHaveLength(2);
    const bad = await t.api('POST', `/api/v1/directories/${id}/tokens`, { body: { grace_seconds: -1 } });
    expect(bad.status).toBe(400);
  });
});

describe('orgsync directory create (CLI)', () => {
  it('prints the SCIM URL and the token once; a second directory for the connection fails with one line', async () => {
    const { tempDir } = await import('../helpers/process.js');
    const { runCliHere: runCli } = await import('../helpers/cli.js');
    const { join } = await import('node:path');
    const { createDb, migrateLatest } = await import('../../src/platform/db.js');
    const url = `sqlite:${join(tempDir(), 'cli.sqlite')}`;
    const db = createDb(url);
    await migrateLatest(db);
    const conn = await insertConnection(db, { name: 'cli-conn' });
    await db.destroy();
    const env = { DATABASE_URL: url, ORGSYNC_SECRET: 'test-secret-0123456789', PUBLIC_URL: 'https://sso.example.com' };
    const out = await runCli(['directory', 'create', '--connection', conn], env);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/SCIM base URL: https:\/\/sso\.example\.com\/scim\/v2\/[0-9a-f-]{36}/);
    expect(out.stdout).toMatch(/Token: +osd_/);
    const json = await runCli(['directory', 'create', '--connection', conn, '--json'], env);
    expect(json.code).toBe(1);
    expect(json.stderr).toMatch(/already has a directory/);
    const missing = await runCli(['directory', 'create', '--connection', 'nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});
