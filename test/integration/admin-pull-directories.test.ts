import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';
import { startAdminSession, type AdminSeed } from '../helpers/admin-seed.js';
import { FakeGraph } from '../helpers/fake-graph.js';

describe('admin page: pulled directory status and "Sync now"', () => {
  let t: TestApp;
  let seed: AdminSeed;
  let a: AdminClient;
  let graph: FakeGraph;
  beforeEach(async () => {
    ({ t, seed, a } = await startAdminSession());
    graph = await new FakeGraph().start();
  });
  afterEach(async () => {
    await graph.close();
    await t.close();
  });

  const createDirectory = () =>
    t.container.pullDirectories.create(
      { connection_id: seed.connectionId, kind: 'microsoft_graph', microsoft_graph: { tenant_id: 'tenant-1', client_id: 'app-1', client_secret: 'graph-secret', api_base_url: graph.apiBase, token_url: graph.tokenUrl } },
      { type: 'system', id: null },
    );

  async function waitForRun(id: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const last = await t.container.db('directory_pull_runs').where({ directory_id: id }).orderBy('started_at', 'desc').first();
      if (last && last.status !== 'running') return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('run did not end');
  }

  it('shows last run, next run, counts and the last error, and "Sync now" starts a run', async () => {
    graph.addUser({ id: 'u-1', displayName: 'Pat', userPrincipalName: 'pat@example.com', mail: 'pat@example.com', accountEnabled: true });
    const id = await createDirectory();
    const before = await a.get('/admin/connections');
    expect(before.text).toContain('Directory sync: Microsoft Graph');
    expect(before.text).toContain('Sync now');
    expect(before.text).not.toContain('graph-secret');

    const synced = await a.post(`/admin/directories/${id}/sync`);
    expect(synced.status).toBe(303);
    await waitForRun(id);
    const after = await a.get('/admin/connections');
    expect(after.text).toContain('1 users and 0 groups pulled');
    expect(after.text).toMatch(/succeeded, 3 requests/);
    expect(after.text).toContain('created: 1');

    graph.clientSecret = 'changed';
    await a.post(`/admin/directories/${id}/sync`);
    await waitForRun(id);
    const failing = await a.get('/admin/connections');
    expect(failing.text).toContain('failing');
    expect(failing.text).toContain('token_error: could not get a Microsoft Graph token');
  });

  it('needs update:directories for "Sync now"', async () => {
    const id = await createDirectory();
    const reader = new AdminClient(t.url);
    await reader.signIn(await t.keyWith('read:connections', 'read:directories'));
    expect((await reader.get('/admin/connections')).text).not.toContain('Sync now');
    expect((await reader.post(`/admin/directories/${id}/sync`)).status).toBe(403);
    expect(await t.container.db('directory_pull_runs').where({ directory_id: id })).toHaveLength(0);
  });
});
