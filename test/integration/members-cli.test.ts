import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/process.js';
import { runCliHere as runCli } from '../helpers/cli.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../helpers/db.js';
import { createDb, migrateLatest, type Db } from '../../src/platform/db.js';
import { Builder } from '../helpers/builders.js';

let url: string;
let db: Db;
let pg: TestDatabase | undefined;
let b: Builder;

// The CLI runs in this process on a database it shares with the test (a SQLite file or a PG schema),
// through the same commander program and services as the `orgsync` bin.
beforeEach(async () => {
  if (TEST_DATABASE_URL) {
    pg = await createTestDatabase('postgres');
    url = pg.url;
    db = pg.db;
  } else {
    url = `sqlite:${join(tempDir(), 'orgsync.sqlite')}`;
    db = createDb(url);
  }
  await migrateLatest(db);
  b = new Builder(db);
});
afterEach(async () => {
  if (pg) await pg.cleanup();
  else await db.destroy();
  pg = undefined;
});

async function seed() {
  const conn = await b.connection({ name: 'acme-okta' });
  const dir = await b.directory({ connection_id: conn.id });
  const org = await b.organization({ name: 'acme', connection_id: conn.id });
  const other = await b.organization({ name: 'other' });
  const kept = await b.user({ email: 'kept@acme.com' });
  const gone = await b.user({ email: 'gone@acme.com', name: '=cmd()' });
  await b.scimUser({ directory_id: dir.id, user_id: kept.id });
  await b.membership({ organization_id: org.id, user_id: kept.id });
  await b.membership({ organization_id: org.id, user_id: gone.id, flagged: { reason: 'idp_deactivated', at: '2026-02-01T00:00:00.000Z' } });
  await b.membership({ organization_id: other.id, user_id: gone.id, source: 'manual' });
  return { conn, dir, org, other, kept, gone };
}

describe('orgsync CLI: report, members remove, reconcile', { timeout: 120_000 }, () => {
  it('prints the report as a table, JSON and CSV', async () => {
    const s = await seed();
    const env = { DATABASE_URL: url };
    const table = await runCli(['report', '--org', 'acme'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('acme  governed by acme-okta (saml)');
    expect(table.stdout).toContain('active 1  flagged 1  idp_deactivated=1');
    expect(table.stdout).toContain(s.gone.id);
    const all = await runCli(['report'], env);
    expect(all.stdout).toMatch(/acme\s+acme-okta\s+1\s+1\s+idp_deactivated=1/);
    expect(all.stdout).toContain('2 organizations, 2 active, 1 flagged');
    const json = JSON.parse((await runCli(['report', '--org', 'acme', '--format', 'json'], env)).stdout);
    expect(json).toMatchObject({ organization: { name: 'acme' }, summary: { active: 1, flagged: 1 }, flagged: [{ user_id: s.gone.id, reason: 'idp_deactivated' }] });
    const csv = await runCli(['report', '--format', 'csv'], env);
    expect(csv.stdout.split('\r\n')).toEqual([
      'organization,user_id,email,name,role,status,reason,flagged_at,evidence',
      expect.stringMatching(new RegExp(`^acme,${s.gone.id},gone@acme.com,'=cmd\\(\\),member,flagged,idp_deactivated,2026-02-01T00:00:00.000Z,"\\{""channel""`)),
      '',
    ]);
    const missing = await runCli(['report', '--org', 'nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('orgsync: Organization not found.\n');
  });

  it('removes flagged members (dry run first), keeping accounts and other memberships', async () => {
    const s = await seed();
    const env = { DATABASE_URL: url };
    const dry = await runCli(['members', 'remove', '--org', 'acme', '--flagged', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would remove 1 flagged member from acme');
    expect(await db('memberships').where({ organization_id: s.org.id })).toHaveLength(2);

    const real = await runCli(['members', 'remove', '--org', 'acme', '--flagged'], env);
    expect(real.stdout).toContain('removed 1 flagged member from acme');
    expect(await db('memberships').where({ organization_id: s.org.id }).pluck('user_id')).toEqual([s.kept.id]);
    expect(await db('memberships').where({ organization_id: s.other.id }).pluck('user_id')).toEqual([s.gone.id]);
    expect(await db('users').where({ id: s.gone.id }).first()).toBeTruthy();
    expect(await db('removal_records').where({ organization_id: s.org.id }).pluck('user_id')).toEqual([s.gone.id]);
    const audit = await db('audit_events').where({ action: 'membership.removed' }).first();
    expect(audit).toMatchObject({ actor_type: 'cli', target_user_id: s.gone.id });

    const noFlag = await runCli(['members', 'remove', '--org', 'acme'], env);
    expect(noFlag.code).toBe(1);
    expect(noFlag.stderr).toContain('--flagged');
  });

  it('reconciles a directory', async () => {
    const s = await seed();
    const stray = await b.user({ email: 'stray@acme.com' });
    await b.membership({ organization_id: s.org.id, user_id: stray.id });
    const res = await runCli(['reconcile', '--directory', s.dir.id, '--json'], { DATABASE_URL: url });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ trigger: 'reconcile', flagged: [{ organization_id: s.org.id, user_id: stray.id, reason: 'not_in_directory' }] });
    expect(await db('memberships').where({ user_id: stray.id }).first()).toMatchObject({ status: 'flagged', flagged_reason: 'not_in_directory' });
    const bad = await runCli(['reconcile', '--directory', 'nope'], { DATABASE_URL: url });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('orgsync: Directory not found.\n');
  });
});
