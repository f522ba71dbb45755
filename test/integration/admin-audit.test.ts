import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { AdminClient } from '../helpers/admin-client.js';

describe('admin page: audit log', () => {
  let t: TestApp;
  let a: AdminClient;
  beforeEach(async () => {
    t = await startTestApp();
    const actor = { type: 'cli' as const, id: null };
    await t.container.organizations.create({ name: 'acme', display_name: 'Acme' }, actor);
    await t.container.organizations.create({ name: 'globex', display_name: 'Globex' }, actor);
    for (let i = 0; i < 60; i++) await t.container.organizations.update('globex', { display_name: `Globex ${i}` }, actor);
    a = new AdminClient(t.url);
    await a.signIn(t.adminKey);
  });
  afterEach(async () => {
    await t.close();
  });

  it('lists events newest first, pages backwards, and filters by organization and action', async () => {
    const first = await a.get('/admin/audit');
    expect(first.status).toBe(200);
    expect(first.text).toContain('Globex 59');
    expect(first.text).not.toContain('Globex 5&quot;'); // escaped JSON detail, and only the newest 50
    const next = /href="(\/admin\/audit\?from=[^"]+)" rel="next"|rel="next" href="([^"]+)"/.exec(first.text);
    const nextHref = (next?.[1] ?? next?.[2])!.replaceAll('&amp;', '&');
    const older = await a.get(nextHref);
    expect(older.text).toContain('<code>organization.created</code>');
    expect(older.text).not.toContain('Globex 59');

    const acme = await a.get('/admin/audit?organization=acme');
    expect(acme.text).toContain('<code>organization.created</code>');
    expect(acme.text).not.toContain('<code>organization.updated</code>');
    const created = await a.get('/admin/audit?action=organization.created');
    expect(created.text.match(/<code>organization\.created<\/code>/g)).toHaveLength(2);
  });

  it('explains an unknown organization or user instead of failing', async () => {
    const res = await a.get('/admin/audit?organization=nope');
    expect(res.status).toBe(400);
    expect(res.text).toContain('No organization &quot;nope&quot;.');
    const user = await a.get('/admin/audit?user=ghost@example.com');
    expect(user.text).toContain('No user with email');
    const bad = await a.get('/admin/audit?from=garbage');
    expect(bad.status).toBe(400);
  });

  it('escapes everything it shows', async () => {
    await t.container.organizations.update('acme', { display_name: '<script>alert(1)</script>' }, { type: 'cli', id: null });
    const res = await a.get('/admin/audit?organization=acme');
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.text).not.toContain('<script>alert(1)');
  });
});
