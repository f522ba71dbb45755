import { describe, expect, it } from 'vitest';
import { migrateDown, migrateLatest, type Db } from '../../src/platform/db.js';
import { migrationSource } from '../../migrations/index.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../helpers/db.js';
import { DEFAULT_SAML_MAPPING } from '../../src/modules/connections/attribute-mapping.js';

/**
 * Migrations 296 and 297: existing connections on the old default SAML groups list get the new one
 * (a chosen mapping is kept), every connection matches DNs whole, and rolling back keeps every row.
 */
const OLD_GROUPS = ['groups', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups', 'memberOf', 'Groups', 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1'];
const at = '2026-01-01T00:00:00.000Z';

async function applied(db: Db): Promise<string[]> {
  const [done] = (await db.migrate.list({ migrationSource })) as [Array<string | { name: string }>, unknown[]];
  return done.map((m) => (typeof m === 'string' ? m : m.name));
}

async function downTo(db: Db, name: string): Promise<void> {
  while ((await applied(db)).includes(name)) await migrateDown(db);
}

describe.each([
  ['sqlite', true],
  ['postgres', !!TEST_DATABASE_URL],
] as const)('group matching migrations on %s', (kind, available) => {
  it.skipIf(!available)('upgrade the default groups list of untouched SAML connections only, and roll back without losing rows', async () => {
    const t = await createTestDatabase(kind);
    const db = t.db;
    try {
      await migrateLatest(db);
      await downTo(db, '296-connections-group-dn-match');
      const mapping = (groups: string[]) => JSON.stringify({ subject: [], email: ['email'], groups });
      await db('connections').insert([
        { id: 'c-default', name: 'c-default', type: 'saml', idp: '{}', attribute_mapping: mapping(OLD_GROUPS), created_at: at, updated_at: at },
        { id: 'c-chosen', name: 'c-chosen', type: 'saml', idp: '{}', attribute_mapping: mapping(['memberOf']), created_at: at, updated_at: at },
        { id: 'c-oidc', name: 'c-oidc', type: 'oidc', idp: '{}', attribute_mapping: mapping(['groups', 'roles']), created_at: at, updated_at: at },
      ]);
      await db('sync_runs').insert({ id: 'r1', trigger: 'login', user_id: null, connection_id: 'c-default', directory_id: null, at, added: '[]', updated: '[]', flagged: '[]', restored: '[]', skipped: '[]' });

      await migrateLatest(db);
      const groupsOf = async (id: string) => JSON.parse((await db('connections').where({ id }).first()).attribute_mapping).groups as string[];
      expect(await groupsOf('c-default')).toEqual(DEFAULT_SAML_MAPPING.groups);
      expect(await groupsOf('c-chosen')).toEqual(['memberOf']);
      expect(await groupsOf('c-oidc')).toEqual(['groups', 'roles']);
      expect(await db('connections').orderBy('id').pluck('group_dn_match')).toEqual(['dn', 'dn', 'dn']);
      expect((await db('sync_runs').where({ id: 'r1' }).first()).group_matching).toBeNull();
      await db('sync_runs').where({ id: 'r1' }).update({ group_matching: '{"unmatched":null,"matched_by_cn":[]}' });

      await downTo(db, '296-connections-group-dn-match');
      expect(await groupsOf('c-default')).toEqual(OLD_GROUPS);
      expect(await groupsOf('c-chosen')).toEqual(['memberOf']);
      expect(await db('connections').count<{ n: number }[]>({ n: '*' })).toEqual([{ n: kind === 'postgres' ? '3' : 3 }]);
      expect(await db('sync_runs').pluck('id')).toEqual(['r1']);
      await migrateLatest(db);
      expect(await groupsOf('c-default')).toEqual(DEFAULT_SAML_MAPPING.groups);
    } finally {
      await t.cleanup();
    }
  });
});
