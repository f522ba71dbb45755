import { describe, expect, it } from 'vitest';
import { createDb, migrateLatest, type Db } from '../../src/platform/db.js';
import { migrationSource } from '../../migrations/index.js';
import { findTrustViolations } from '../../src/modules/users/account-trust.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../helpers/db.js';
import { tempDir } from '../helpers/process.js';
import { runCliHere } from '../helpers/cli.js';

/**
 * Data written before the trust rule (SPEC §2): B's connection reached accounts in A's verified
 * domain. Migration 257 and `orgsync accounts check --fix` detach them — bind or split, never merge.
 */
const at = '2026-01-01T00:00:00.000Z';

async function migrateTo(db: Db, last: string): Promise<void> {
  const names = await migrationSource.getMigrations([]);
  for (const name of names) {
    await db.migrate.up({ migrationSource });
    if (name === last) return;
  }
}

/** A's connection owns a.example; B's connection shares one account with it and has one of its own. */
async function legacyWorld(db: Db) {
  const conn = (id: string, domain: string) =>
    db('connections')
      .insert({ id, name: id, type: 'saml', idp: '{}', attribute_mapping: '{}', created_at: at, updated_at: at })
      .then(() => db('connection_domains').insert({ domain, connection_id: id }));
  await conn('conn-a', 'a.example');
  await conn('conn-b', 'b.example');
  await db('directories').insert({ id: 'dir-b', connection_id: 'conn-b', name: 'B', created_at: at });
  const user = (id: string, email: string) => db('users').insert({ id, email, email_lower: email, name: id, active: true, created_at: at, updated_at: at });
  await user('shared', 'victim@a.example');
  await user('planted', 'ghost@a.example');
  await user('clean', 'alice@a.example');
  const identity = (id: string, userId: string, connectionId: string) =>
    db('identities').insert({ id, user_id: userId, connection_id: connectionId, subject: id, created_at: at });
  await identity('ia', 'shared', 'conn-a');
  await identity('ib', 'shared', 'conn-b');
  await identity('ic', 'clean', 'conn-a');
  await db('scim_users').insert({ id: 'sb', directory_id: 'dir-b', user_id: 'planted', user_name: 'ghost@a.example', user_name_lower: 'ghost@a.example', data: '{}', created_at: at, updated_at: at });
  const org = (id: string, connectionId: string) => db('organizations').insert({ id, name: id, display_name: id, connection_id: connectionId, created_at: at, updated_at: at });
  await org('org-a', 'conn-a');
  await org('org-b', 'conn-b');
  await db('memberships').insert([
    { organization_id: 'org-a', user_id: 'shared', role: 'owner', source: 'sso', status: 'active', joined_at: at },
    { organization_id: 'org-b', user_id: 'shared', role: 'member', source: 'sso', status: 'active', joined_at: at },
  ]);
  await db('sessions').insert({ id_hash: 's1', user_id: 'shared', data: '{}', expires_at: '2999-01-01T00:00:00.000Z', created_at: at });
}

const dialects = [
  ['sqlite', true],
  ['postgres', !!TEST_DATABASE_URL],
] as const;

describe.each(dialects)('accounts written before the trust rule, on %s', (kind, available) => {
  it.skipIf(!available)('migration 257 keeps the shared account with the domain owner, splits B off, binds what only B reached', async () => {
    const t = await createTestDatabase(kind);
    try {
      await migrateTo(t.db, '256-users-bound-connection');
      await legacyWorld(t.db);
      expect((await findTrustViolations(t.db)).map((f) => [f.user_id, f.action]).sort()).toEqual([['planted', 'bind'], ['shared', 'split']]);
      await migrateLatest(t.db);

      const shared = await t.db('users').where({ id: 'shared' }).first();
      expect(shared.bound_connection_id).toBeNull();
      expect(await t.db('identities').where({ user_id: 'shared' }).pluck('connection_id')).toEqual(['conn-a']);
      expect(await t.db('memberships').where({ user_id: 'shared' }).pluck('organization_id')).toEqual(['org-a']);
      expect(await t.db('sessions').where({ user_id: 'shared' })).toHaveLength(0);

      const split = await t.db('identities').where({ id: 'ib' }).first();
      expect(split.user_id).not.toBe('shared');
      const bAccount = await t.db('users').where({ id: split.user_id }).first();
      expect(bAccount).toMatchObject({ email: 'victim@a.example', bound_connection_id: 'conn-b' });
      expect(await t.db('memberships').where({ user_id: split.user_id }).pluck('organization_id')).toEqual(['org-b']);

      expect((await t.db('users').where({ id: 'planted' }).first()).bound_connection_id).toBe('conn-b');
      expect((await t.db('users').where({ id: 'clean' }).first()).bound_connection_id).toBeNull();
      const audit = await t.db('audit_events').where({ action: 'user.detached' }).orderBy('seq').pluck('target_user_id');
      expect(audit.sort()).toEqual(['planted', 'shared']);
      expect(await findTrustViolations(t.db)).toEqual([]);
    } finally {
      await t.cleanup();
    }
  });
});

describe('orgsync accounts check', () => {
  it('lists what breaks the rule, fixes it with --fix, and then finds nothing', async () => {
    const url = `sqlite:${tempDir()}/legacy.sqlite`;
    const db = createDb(url);
    try {
      await migrateLatest(db);
      await legacyWorld(db);
    } finally {
      await db.destroy();
    }
    const env = { DATABASE_URL: url, ORGSYNC_SECRET: 'test-secret-0123456789' };
    const check = await runCliHere(['accounts', 'check', '--json'], env);
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout).findings.map((f: { user_id: string }) => f.user_id).sort()).toEqual(['planted', 'shared']);
    const fix = await runCliHere(['accounts', 'check', '--fix'], env);
    expect(fix.code, fix.stderr).toBe(0);
    expect(fix.stdout).toContain('fixed 2: 1 new account(s), 1 bound');
    const again = await runCliHere(['accounts', 'check'], env);
    expect(again.stdout).toContain('no accounts break the trust rule');
  });
});
