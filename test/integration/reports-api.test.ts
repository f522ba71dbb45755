import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Builder } from '../helpers/builders.js';
import { csvCell } from '../../src/modules/reports/csv.js';

let t: TestApp;
let b: Builder;
beforeEach(async () => {
  t = await startTestApp();
  b = new Builder(t.container.db);
});
afterEach(async () => {
  await t.close();
});

/** A small RFC 4180 parser, so the test reads the CSV as a spreadsheet would. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    }
    else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

async function seed() {
  const conn = await b.connection({ name: 'acme-okta', type: 'saml' });
  const dir = await b.directory({ connection_id: conn.id });
  await t.container.db('directories').where({ id: dir.id }).update({ last_activity_at: '2026-02-02T00:00:00.000Z' });
  const org = await b.organization({ name: 'acme', connection_id: conn.id });
  const other = await b.organization({ name: 'beta' });
  const evidence = { channel: 'scim' as const, action: 'PATCH active=false', at: '2026-02-01T00:00:00.000Z' };
  const active = await b.user({ name: 'Active One' });
  await b.membership({ organization_id: org.id, user_id: active.id });
  const evil = await b.user({ email: 'evil@acme.com', name: '=HYPERLINK("http://x","click"), "quoted"\nline' });
  await b.membership({ organization_id: org.id, user_id: evil.id, flagged: { reason: 'idp_deactivated', at: '2026-02-01T00:00:00.000Z', evidence } });
  const g = await b.user({ name: '@sum' });
  await b.membership({ organization_id: org.id, user_id: g.id, role: 'admin', flagged: { reason: 'idp_group_removed', at: '2026-02-03T00:00:00.000Z' } });
  const b1 = await b.user({ name: '-1+1' });
  await b.membership({ organization_id: other.id, user_id: b1.id, flagged: { reason: 'not_in_directory' } });
  await t.container.db('sync_runs').insert({ id: '00000000-0000-7000-8000-000000000001', trigger: 'login', user_id: active.id, connection_id: conn.id, at: '2026-02-05T00:00:00.000Z', added: '[]', updated: '[]', flagged: '[]', restored: '[]', skipped: '[]' });
  await t.container.db('sync_run_organizations').insert({ sync_run_id: '00000000-0000-7000-8000-000000000001', organization_id: org.id });
  return { conn, org, other, active, evil, g, b1 };
}

describe('sync reports', () => {
  it('reports an organization in the SPEC JSON shape', async () => {
    const s = await seed();
    const key = await t.keyWith('read:reports');
    const res = await t.api('GET', '/api/v1/organizations/acme/sync-report', { key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      organization: { id: s.org.id, name: 'acme' },
      generated_at: expect.any(String),
      connection: { id: s.conn.id, name: 'acme-okta', type: 'saml' },
      summary: {
        active: 1,
        flagged: 2,
        by_reason: { idp_deactivated: 1, idp_group_removed: 1 },
        last_scim_activity_at: '2026-02-02T00:00:00.000Z',
        last_login_sync_at: '2026-02-05T00:00:00.000Z',
      },
      flagged_truncated: false,
    });
    // Newest flags first, with evidence.
    expect(res.body.flagged.map((f: { user_id: string }) => f.user_id)).toEqual([s.g.id, s.evil.id]);
    expect(res.body.flagged[1]).toEqual({
      user_id: s.evil.id,
      email: 'evil@acme.com',
      name: expect.any(String),
      role: 'member',
      reason: 'idp_deactivated',
      flagged_at: '2026-02-01T00:00:00.000Z',
      evidence: { channel: 'scim', action: 'PATCH active=false', at: '2026-02-01T00:00:00.000Z' },
    });
    expect(res.body.recent_runs).toMatchObject([{ trigger: 'login', user_id: s.active.id }]);
    expect((await t.api('GET', '/api/v1/organizations/acme/sync-report', { key: await t.keyWith('read:organizations') })).status).toBe(403);
    expect((await t.api('GET', '/api/v1/organizations/nope/sync-report')).status).toBe(404);
  });

  it('reports every organization', async () => {
    await seed();
    const res = await t.api('GET', '/api/v1/sync-report');
    expect(res.status).toBe(200);
    expect(res.body.summary).toEqual({ organizations: 2, active: 1, flagged: 3, by_reason: { idp_deactivated: 1, idp_group_removed: 1, not_in_directory: 1 } });
    expect(res.body.organizations.map((o: { organization: { name: string } }) => o.organization.name)).toEqual(['acme', 'beta']);
    expect(res.body.organizations[1]).toMatchObject({ connection: null, summary: { active: 0, flagged: 1 } });
  });

  it('streams CSV with RFC 4180 quoting and neutralised formulas, by ?format=csv or Accept', async () => {
    const s = await seed();
    const res = await fetch(`${t.url}/api/v1/organizations/acme/sync-report?format=csv`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const text = await res.text();
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(['organization', 'user_id', 'email', 'name', 'role', 'status', 'reason', 'flagged_at', 'evidence']);
    expect(rows).toHaveLength(3);
    const evil = rows.find((r) => r[1] === s.evil.id)!;
    expect(evil[3]).toBe(`'=HYPERLINK("http://x","click"), "quoted"\nline`);
    expect(evil.slice(4, 8)).toEqual(['member', 'flagged', 'idp_deactivated', '2026-02-01T00:00:00.000Z']);
    expect(JSON.parse(evil[8]!)).toEqual({ channel: 'scim', action: 'PATCH active=false', at: '2026-02-01T00:00:00.000Z' });
    expect(rows.find((r) => r[1] === s.g.id)![3]).toBe("'@sum");

    const viaAccept = await fetch(`${t.url}/api/v1/sync-report?status=all`, { headers: { authorization: `Bearer ${t.adminKey}`, accept: 'text/csv' } });
    expect(viaAccept.headers.get('content-type')).toMatch(/^text\/csv/);
    const all = parseCsv(await viaAccept.text());
    expect(all).toHaveLength(5);
    expect(all.filter((r) => r[0] === 'acme' && r[5] === 'active')).toHaveLength(1);
    expect(all.find((r) => r[0] === 'beta')![3]).toBe("'-1+1");
  });

  it('escapes cells', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell(null)).toBe('');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=1+2')).toBe("'=1+2");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@x')).toBe("'@x");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('=a,b')).toBe(`"'=a,b"`);
  });

  it('streams a large organization completely, page after page', async () => {
    const org = await b.organization({ name: 'large' });
    const at = new Date().toISOString();
    const users = Array.from({ length: 2500 }, (_, i) => ({ id: crypto.randomUUID(), email: `u${i}@large.test`, email_lower: `u${i}@large.test`, created_at: at, updated_at: at }));
    for (let i = 0; i < users.length; i += 100) await t.container.db('users').insert(users.slice(i, i + 100));
    const ms = users.map((u, i) => ({ organization_id: org.id, user_id: u.id, role: 'member', source: 'sso', status: i % 2 ? 'flagged' : 'active', flagged_reason: i % 2 ? 'idp_deleted' : null, joined_at: at }));
    for (let i = 0; i < ms.length; i += 100) await t.container.db('memberships').insert(ms.slice(i, i + 100));
    const res = await t.api('GET', '/api/v1/organizations/large/sync-report?format=csv&status=all');
    const rows = parseCsv(res.text);
    expect(rows).toHaveLength(2501);
    expect(new Set(rows.slice(1).map((r) => r[1])).size).toBe(2500);
    const flagged = parseCsv((await t.api('GET', '/api/v1/organizations/large/sync-report?format=csv')).text);
    expect(flagged).toHaveLength(1251);
    expect((await t.api('GET', '/api/v1/organizations/large/sync-report?format=xml')).body.errorCode).toBe('invalid_query_string');
  });

  it('lists sync runs newest first, by organization and user, paginated', async () => {
    const s = await seed();
    const run = (id: string, userId: string) => ({ id, trigger: 'scim', user_id: userId, connection_id: s.conn.id, at: '2026-02-06T00:00:00.000Z', added: '[]', updated: '[]', flagged: '[]', restored: '[]', skipped: '[]' });
    await t.container.db('sync_runs').insert([run('00000000-0000-7000-8000-000000000002', s.evil.id), run('00000000-0000-7000-8000-000000000003', s.evil.id)]);
    await t.container.db('sync_run_organizations').insert({ sync_run_id: '00000000-0000-7000-8000-000000000003', organization_id: s.org.id });
    const all = await t.api('GET', '/api/v1/sync-runs?take=2');
    expect(all.body.sync_runs.map((r: { id: string }) => r.id)).toEqual(['00000000-0000-7000-8000-000000000003', '00000000-0000-7000-8000-000000000002']);
    const next = await t.api('GET', `/api/v1/sync-runs?take=2&from=${all.body.next}`);
    expect(next.body).toMatchObject({ sync_runs: [{ id: '00000000-0000-7000-8000-000000000001', trigger: 'login', added: [] }], next: null });
    const byOrg = await t.api('GET', '/api/v1/sync-runs?organization=acme');
    expect(byOrg.body.sync_runs.map((r: { id: string }) => r.id)).toEqual(['00000000-0000-7000-8000-000000000003', '00000000-0000-7000-8000-000000000001']);
    const byUser = await t.api('GET', `/api/v1/sync-runs?user=${s.evil.id}&organization=acme`);
    expect(byUser.body.sync_runs.map((r: { id: string }) => r.id)).toEqual(['00000000-0000-7000-8000-000000000003']);
    expect((await t.api('GET', '/api/v1/sync-runs?organization=nope')).status).toBe(404);
  });
});
