import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';
import { startAdminSession, type AdminSeed } from '../helpers/admin-seed.js';
import { FakeGraph } from '../helpers/fake-graph.js';
import { FakeGoogle } from '../helpers/fake-google.js';

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

  const directoriesOf = () => t.container.db('directories').where({ connection_id: seed.connectionId });
  const sealedSecret = async (id: string) => t.container.secretBox.open((await t.container.db('directories').where({ id }).first()).pull_secret_sealed);

  it('creates a Microsoft Graph directory from the form: plain-language errors change nothing, the secret is never shown, rotation replaces it', async () => {
    const connections = await a.get('/admin/connections');
    expect(connections.text).toContain(`href="/admin/connections/${seed.connectionId}/directory/new?kind=microsoft_graph"`);
    const form = await a.get(`/admin/connections/${seed.connectionId}/directory/new?kind=microsoft_graph`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('<label for="f-tenant_id">Tenant ID');

    const bad = await a.postMultipart(`/admin/connections/${seed.connectionId}/pull-directory`, {
      kind: 'microsoft_graph',
      tenant_id: 'not a tenant!',
      client_id: '',
      client_secret: 'shh-typed-secret',
      token_url: 'ftp://login.example.com/token',
    });
    expect(bad.status).toBe(200);
    expect(bad.text).toContain('3 fields need attention:');
    expect(bad.text).toContain('The tenant ID must be a tenant GUID or domain.');
    expect(bad.text).toContain('Enter the client ID.');
    expect(bad.text).toContain('The token URL must be an https URL (http only on a loopback host), without credentials.');
    expect(bad.text).toContain('value="ftp://login.example.com/token"');
    expect(bad.text).not.toContain('shh-typed-secret');
    expect(await directoriesOf()).toHaveLength(0);
    expect(await t.container.db('audit_events').where({ action: 'directory.created' })).toHaveLength(0);

    const ok = await a.postMultipart(`/admin/connections/${seed.connectionId}/pull-directory`, {
      kind: 'microsoft_graph',
      name: 'Acme Entra',
      tenant_id: 'tenant-1',
      client_id: 'app-1',
      client_secret: 'graph-secret',
      api_base_url: graph.apiBase,
      token_url: graph.tokenUrl,
      sync_interval_seconds: '900',
    });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe(`/admin/connections#c-${seed.connectionId}-title`);
    const [dir] = await directoriesOf();
    expect(dir).toMatchObject({ kind: 'microsoft_graph', name: 'Acme Entra' });
    expect(JSON.parse(dir.pull_settings)).toMatchObject({ sync_interval_seconds: 900, microsoft_graph: { tenant_id: 'tenant-1', client_id: 'app-1', api_base_url: graph.apiBase } });
    expect(await sealedSecret(dir.id)).toBe('graph-secret');
    const after = await a.get('/admin/connections');
    expect(after.text).toContain('Microsoft Graph directory \u201cAcme Entra\u201d created.');
    expect(after.text).toContain('stored encrypted (never shown)');
    expect(after.text).toContain('every 15 minutes');
    expect(after.text).not.toContain('graph-secret');
    const audit = await t.container.db('audit_events').where({ action: 'directory.created' }).first();
    expect(audit).toMatchObject({ actor_type: 'admin_page' });
    expect(audit.detail).not.toContain('graph-secret');

    // A second directory for the same connection: a clear message, nothing created.
    const again = await a.postMultipart(`/admin/connections/${seed.connectionId}/pull-directory`, { kind: 'microsoft_graph', tenant_id: 'tenant-1', client_id: 'app-1', client_secret: 'x' });
    expect(again.status).toBe(200);
    expect(again.text).toContain('This connection already has a directory.');
    expect(await directoriesOf()).toHaveLength(1);

    const empty = await a.postMultipart(`/admin/directories/${dir.id}/credentials`, { client_secret: '' });
    expect(empty.status).toBe(303);
    expect((await a.get('/admin/connections')).text).toContain('Nothing changed: Enter the client secret.');
    expect(await sealedSecret(dir.id)).toBe('graph-secret');
    await a.postMultipart(`/admin/directories/${dir.id}/credentials`, { client_secret: 'rotated-secret' });
    const rotated = await a.get('/admin/connections');
    expect(rotated.text).toContain('The client secret of \u201cAcme Entra\u201d was replaced.');
    expect(rotated.text).not.toContain('rotated-secret');
    expect(await sealedSecret(dir.id)).toBe('rotated-secret');
    expect(await t.container.db('audit_events').where({ action: 'directory.updated' })).toHaveLength(1);
  });

  it('creates a Google Workspace directory from an uploaded key file; a bad key is refused in plain words and nothing is created', async () => {
    const google = new FakeGoogle();
    const path = `/admin/connections/${seed.connectionId}/pull-directory`;
    await a.get(`/admin/connections/${seed.connectionId}/directory/new?kind=google_workspace`);
    const bad = await a.postMultipart(path, { kind: 'google_workspace', service_account_key_file: { file: '{"type": "service_account"}', name: 'key.json' }, admin_email: 'admin@acme', customer_id: 'C01', domain: 'acme.com' });
    expect(bad.status).toBe(200);
    expect(bad.text).toContain('Upload or paste the JSON key file of the service account as Google gave it, with its client_email and private_key.');
    expect(bad.text).toContain('The admin email must be an email address, like admin@example.com.');
    expect(await directoriesOf()).toHaveLength(0);
    const both = await a.postMultipart(path, { kind: 'google_workspace', service_account_key: JSON.stringify(google.serviceAccountKey), admin_email: 'admin@acme.com', customer_id: 'C01', domain: 'acme.com' });
    expect(both.text).toContain('Give the customer ID or the domain, not both.');
    expect(both.text).not.toContain('PRIVATE KEY');
    expect(await directoriesOf()).toHaveLength(0);

    const ok = await a.postMultipart(path, { kind: 'google_workspace', service_account_key_file: { file: JSON.stringify(google.serviceAccountKey), name: 'key.json' }, admin_email: 'admin@acme.com', customer_id: 'C01abc' });
    expect(ok.status).toBe(303);
    const [dir] = await directoriesOf();
    expect(dir.kind).toBe('google_workspace');
    expect(await sealedSecret(dir.id)).toBe(google.serviceAccountKey.private_key);
    const page = await a.get('/admin/connections');
    expect(page.text).toContain(google.serviceAccountKey.client_email!);
    expect(page.text).not.toContain('PRIVATE KEY');
    expect(page.text).toContain('Replace the service account key');
  });

  it('needs create:directories for the form and update:directories for rotation', async () => {
    const reader = new AdminClient(t.url);
    await reader.signIn(await t.keyWith('read:connections', 'read:directories'));
    expect((await reader.get('/admin/connections')).text).not.toContain('Pull from Microsoft Graph');
    expect((await reader.get(`/admin/connections/${seed.connectionId}/directory/new?kind=microsoft_graph`)).status).toBe(403);
    const posted = await reader.postMultipart(`/admin/connections/${seed.connectionId}/pull-directory`, { kind: 'microsoft_graph', tenant_id: 't', client_id: 'c', client_secret: 's' });
    expect(posted.status).toBe(403);
    expect(await directoriesOf()).toHaveLength(0);
    const id = await createDirectory();
    expect((await reader.postMultipart(`/admin/directories/${id}/credentials`, { client_secret: 'stolen' })).status).toBe(403);
    expect(await sealedSecret(id)).toBe('graph-secret');
  });

  it('a multipart form is held to the same CSRF rule as any other, and an oversized one changes nothing', async () => {
    await a.get(`/admin/connections/${seed.connectionId}/directory/new?kind=microsoft_graph`);
    const fields = { kind: 'microsoft_graph', tenant_id: 'tenant-1', client_id: 'app-1', client_secret: 'graph-secret' };
    const post = (body: FormData, origin: string) =>
      fetch(`${t.url}/admin/connections/${seed.connectionId}/pull-directory`, { method: 'POST', headers: { cookie: a.cookieHeader(), origin }, body, redirect: 'manual' });
    const form = (withToken: boolean, extra: Record<string, string> = {}) => {
      const f = new FormData();
      if (withToken) f.set('_csrf', a.csrf);
      for (const [k, v] of Object.entries({ ...fields, ...extra })) f.set(k, v);
      return f;
    };
    expect((await post(form(false), new URL(t.url).origin)).status).toBe(403);
    expect((await post(form(true), 'https://evil.example')).status).toBe(403);
    const big = await post(form(true, { name: 'x'.repeat(70 * 1024) }), new URL(t.url).origin);
    expect(big.status).toBe(413);
    expect(await big.text()).toContain('<!doctype html>');
    expect(await directoriesOf()).toHaveLength(0);
    expect((await post(form(true), new URL(t.url).origin)).status).toBe(303);
    expect(await directoriesOf()).toHaveLength(1);
  });
});
