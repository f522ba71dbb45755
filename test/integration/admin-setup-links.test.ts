import { afterEach, beforeEach, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';
import { SetupLinkVisitor } from '../helpers/setup-link.js';

let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
  await t.api('POST', '/api/v1/organizations', { body: { name: 'acme', display_name: 'Acme Inc' } });
});
afterEach(() => t.close());

it('an operator issues a setup link on the admin page (URL shown once), sees its status and revokes it', async () => {
  const a = new AdminClient(t.url);
  await a.signIn(t.adminKey);
  expect((await a.get('/admin/organizations/acme')).text).toContain('href="/admin/organizations/acme/setup-links"');
  const empty = await a.get('/admin/organizations/acme/setup-links');
  expect(empty.text).toContain('No setup links yet.');

  const created = await a.post('/admin/organizations/acme/setup-links', { sso: '1', directory: '1', expires_days: '3' });
  expect(created.status).toBe(201);
  const url = /<code class="secret">([^<]+)<\/code>/.exec(created.text)?.[1];
  expect(url).toMatch(new RegExp(`^${t.url}/setup\\?link=osl_`));
  const [link] = (await t.api('GET', '/api/v1/organizations/acme/setup-links')).body.setup_links;
  expect(link).toMatchObject({ intents: ['sso', 'directory'], status: 'active' });
  expect(Date.parse(link.expires_at) - Date.parse(link.created_at)).toBe(3 * 86_400_000);
  const audit = (await t.api('GET', '/api/v1/audit-logs?action=setup_link.created')).body.audit_logs;
  expect(audit[0].actor.type).toBe('admin_page');

  const listed = await a.get('/admin/organizations/acme/setup-links');
  expect(listed.text).not.toContain('osl_');
  expect(listed.text).toContain('active');
  const revoked = await a.post(`/admin/organizations/acme/setup-links/${link.id}/revoke`);
  expect(revoked.status).toBe(303);
  expect((await t.api('GET', `/api/v1/organizations/acme/setup-links/${link.id}`)).body.status).toBe('revoked');
  expect((await a.post('/admin/organizations/acme/setup-links', { sso: '1' }, { csrf: false })).status).toBe(403);
});

it('a narrow key cannot issue a link for more than it may do', async () => {
  const a = new AdminClient(t.url);
  await a.signIn(await t.keyWith('read:organizations', 'read:connections', 'create:directories'));
  expect((await a.get('/admin/organizations/acme/setup-links')).text).toContain('Create setup link');
  const refused = await a.post('/admin/organizations/acme/setup-links', { sso: '1' });
  expect(refused.status).toBe(403);
  expect((await t.api('GET', '/api/v1/organizations/acme/setup-links')).body.setup_links).toEqual([]);
});

it('the connection a link is building shows on the connections page as being set up', async () => {
  const url = (await t.api('POST', '/api/v1/organizations/acme/setup-links', { body: { intents: ['sso'] } })).body.url;
  const v = new SetupLinkVisitor(t);
  await v.open(url);
  await v.post('/provider', { provider: 'okta' });
  const a = new AdminClient(t.url);
  await a.signIn(t.adminKey);
  const page = await a.get('/admin/connections');
  expect(page.text).toContain((await v.state()).connection.id);
  expect(page.text).toContain('being set up through a setup link');
});
