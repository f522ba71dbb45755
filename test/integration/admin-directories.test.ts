import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';
import { startAdminSession, type AdminSeed } from '../helpers/admin-seed.js';

const tokenIn = (text: string) => /id="new-token" value="([^"]+)"/.exec(text)?.[1];

describe('admin page: SCIM directory and token rotation', () => {
  let t: TestApp;
  let seed: AdminSeed;
  let a: AdminClient;
  beforeEach(async () => {
    ({ t, seed, a } = await startAdminSession());
  });
  afterEach(async () => {
    await t.close();
  });

  const scim = (directoryId: string, token: string) =>
    fetch(`${t.url}/scim/v2/${directoryId}/Users?startIndex=1&count=2`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

  it('creates a directory, shows its token once, and rotates it with the chosen grace period', async () => {
    const before = await a.get('/admin/connections');
    expect(before.text).toContain('No SCIM directory yet');
    const created = await a.post(`/admin/connections/${seed.connectionId}/directory`);
    expect(created.status).toBe(201);
    const first = tokenIn(created.text)!;
    expect(first).toMatch(/^osd_/);
    const directoryId = (await t.container.db('directories').where({ connection_id: seed.connectionId }).first()).id as string;
    expect(created.text).toContain(`${t.url}/scim/v2/${directoryId}`);
    expect(await scim(directoryId, first)).toBe(200);

    const page = await a.get('/admin/connections');
    expect(page.text).toContain(`value="${t.url}/scim/v2/${directoryId}"`);
    expect(page.text).toContain(`${first.slice(0, 12)}`);
    expect(page.text).not.toContain(first); // the token itself is never shown again

    const rotated = await a.post(`/admin/directories/${directoryId}/rotate-token`, { grace_seconds: '0' });
    expect(rotated.status).toBe(200);
    const second = tokenIn(rotated.text)!;
    expect(second).not.toBe(first);
    expect(await scim(directoryId, first)).toBe(401);
    expect(await scim(directoryId, second)).toBe(200);

    const graceful = await a.post(`/admin/directories/${directoryId}/rotate-token`, { grace_seconds: '3600' });
    const third = tokenIn(graceful.text)!;
    expect(await scim(directoryId, second)).toBe(200);
    expect(await scim(directoryId, third)).toBe(200);

    const keyId = (await t.container.db('api_keys').where({ name: 'test-admin' }).first()).id;
    const audit = await t.api('GET', '/api/v1/audit-logs?action=directory.token_rotated');
    expect(audit.body.audit_logs.map((e: { actor: unknown }) => e.actor)).toEqual([
      { type: 'admin_page', id: keyId },
      { type: 'admin_page', id: keyId },
    ]);
  });

  it('needs update:directories to rotate and create:directories to create', async () => {
    const reader = new AdminClient(t.url);
    await reader.signIn(await t.keyWith('read:connections', 'read:directories'));
    const page = await reader.get('/admin/connections');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('Create SCIM directory');
    expect((await reader.post(`/admin/connections/${seed.connectionId}/directory`)).status).toBe(403);
    const created = await t.container.directories.create({ connection_id: seed.connectionId }, { type: 'system', id: null });
    expect((await reader.get('/admin/connections')).text).not.toContain('Rotate token');
    expect((await reader.post(`/admin/directories/${created.id}/rotate-token`, { grace_seconds: '0' })).status).toBe(403);
    expect(await scim(created.id, created.token)).toBe(200);
  });
});
