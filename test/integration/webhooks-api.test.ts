import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

describe('webhook endpoints API', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('creates an endpoint with a secret shown once and stored sealed; reads, updates and deletes it', async () => {
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
    const created = await t.api('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/hook', events: ['membership.flagged', 'user.deactivated'] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ url: 'http://127.0.0.1:9/hook', events: ['membership.flagged', 'user.deactivated'], enabled: true, disabled_reason: null });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{40,}$/);
    const id = created.body.id;

    const stored = await t.container.db('webhooks').where({ id }).first();
    expect(JSON.stringify(stored)).not.toContain(created.body.secret);
    expect(t.container.secretBox.open(stored.secret_sealed)).toBe(created.body.secret);

    const one = await t.api('GET', `/api/v1/webhooks/${id}`);
    expect(one.status).toBe(200);
    expect(one.body.secret).toBeUndefined();
    expect(one.text).not.toContain(created.body.secret);
    const list = await t.api('GET', '/api/v1/webhooks');
    expect(list.body).toMatchObject({ webhooks: [{ id }], next: null });
    expect(list.text).not.toContain('whsec_');

    const off = await t.api('PATCH', `/api/v1/webhooks/${id}`, { body: { enabled: false, events: ['user.deleted'] } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ enabled: false, disabled_reason: 'disabled_by_admin', events: ['user.deleted'] });
    const on = await t.api('PATCH', `/api/v1/webhooks/${id}`, { body: { enabled: true } });
    expect(on.body).toMatchObject({ enabled: true, disabled_reason: null, disabled_at: null });

    const audit = await t.api('GET', '/api/v1/audit-logs?action=webhook.created');
    expect(audit.body.audit_logs).toHaveLength(1);
    expect(JSON.stringify(audit.body)).not.toContain(created.body.secret);

    expect((await t.api('DELETE', `/api/v1/webhooks/${id}`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/webhooks/${id}`)).status).toBe(404);
    expect((await t.api('DELETE', `/api/v1/webhooks/${id}`)).status).toBe(404);
  });

  it('validates bodies and scopes', async () => {
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
    const bad = async (body: unknown, code: string, text: string) => {
      const r = await t.api('POST', '/api/v1/webhooks', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.errorCode).toBe(code);
      expect(r.body.message).toContain(text);
    };
    await bad({ url: 'ftp://example.com/x', events: ['user.updated'] }, 'invalid_webhook_url', 'only http and https');
    await bad({ url: 'file:///etc/passwd', events: ['user.updated'] }, 'invalid_webhook_url', 'url');
    await bad({ url: 'not a url', events: ['user.updated'] }, 'invalid_webhook_url', 'url');
    await bad({ url: 'https://user:pw@example.com/x', events: ['user.updated'] }, 'invalid_webhook_url', 'credentials');
    await bad({ url: 'https://example.com/x', events: [] }, 'invalid_body', 'events');
    await bad({ url: 'https://example.com/x', events: ['user.exploded'] }, 'invalid_body', 'events');
    await bad({ url: 'https://example.com/x', events: ['user.updated'], secret: 'mine' }, 'invalid_body', 'secret');
    expect((await t.api('PATCH', '/api/v1/webhooks/nope', { body: { enabled: true } })).status).toBe(404);

    const reader = await t.keyWith('read:webhooks');
    const denied = await t.api('POST', '/api/v1/webhooks', { key: reader, body: { url: 'http://127.0.0.1:9/', events: ['user.updated'] } });
    expect(denied.status).toBe(403);
    expect((await t.api('GET', '/api/v1/webhooks', { key: reader })).status).toBe(200);
    expect((await t.api('GET', '/api/v1/webhooks', { key: await t.keyWith('read:events') })).status).toBe(403);
  });

  it('refuses loopback, private, link-local and unique-local targets unless allowed (SSRF)', async () => {
    t = await startTestApp();
    const refused = [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://10.1.2.3/hook',
      'http://172.16.0.1/hook',
      'http://192.168.1.10/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://100.64.0.1/hook',
      'http://0.0.0.0/hook',
      'http://[::1]/hook',
      'http://[fd12:3456::1]/hook',
      'http://[fe80::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://2130706433/hook',
    ];
    for (const url of refused) {
      const r = await t.api('POST', '/api/v1/webhooks', { body: { url, events: ['user.updated'] } });
      expect(r.status, url).toBe(400);
      expect(r.body.errorCode, url).toBe('webhook_target_not_allowed');
      expect(r.body.message).toContain('WEBHOOK_ALLOW_PRIVATE_TARGETS');
    }
    const nowhere = await t.api('POST', '/api/v1/webhooks', { body: { url: 'https://no-such-host.invalid/hook', events: ['user.updated'] } });
    expect(nowhere.status).toBe(400);
    expect(nowhere.body.errorCode).toBe('webhook_target_unresolvable');
    // A public address is fine (nothing is sent at creation).
    const ok = await t.api('POST', '/api/v1/webhooks', { body: { url: 'https://93.184.215.14/hook', events: ['user.updated'] } });
    expect(ok.status).toBe(201);
    // The same rule applies when the URL changes.
    const moved = await t.api('PATCH', `/api/v1/webhooks/${ok.body.id}`, { body: { url: 'http://127.0.0.1/hook' } });
    expect(moved.status).toBe(400);
    expect(moved.body.errorCode).toBe('webhook_target_not_allowed');
  });
});
