import { readFileSync } from 'node:fs';
import { startTestApp, type TestApp } from './app.js';
import { AdminClient } from './admin-client.js';
import { flagMemberships, insertMembership } from '../../src/modules/memberships/queries.js';
import type { FlagReason, Role } from '../../src/modules/memberships/types.js';
import { emptyRun, insertSyncRuns } from '../../src/modules/reports/sync-runs.js';

const certPem = readFileSync(new URL('../../fixtures/saml/keys/idp-test-only.crt', import.meta.url), 'utf8');
const system = { type: 'system' as const, id: null };

export interface AdminSeed {
  acme: { id: string; name: string };
  globex: { id: string; name: string };
  connectionId: string;
  users: Record<string, string>;
}

export async function createUser(t: TestApp, email: string, name: string): Promise<string> {
  const id = t.container.ids.uuid();
  const now = t.container.clock.now().toISOString();
  await t.container.db('users').insert({ id, email, email_lower: email.toLowerCase(), name, active: true, created_at: now, updated_at: now });
  return id;
}

export async function addMember(t: TestApp, organizationId: string, userId: string, role: Role, source: 'sso' | 'scim' | 'manual'): Promise<void> {
  await insertMembership(t.container.db, { organization_id: organizationId, user_id: userId, role, source, at: t.container.clock.now().toISOString() });
}

export async function flag(t: TestApp, organizationId: string, userId: string, reason: FlagReason, action: string): Promise<void> {
  const at = t.container.clock.now().toISOString();
  await flagMemberships(t.container.db, userId, [organizationId], reason, { channel: 'scim', action, at }, at);
}

/**
 * "acme" is governed by a SAML connection and has two active and two flagged members;
 * "globex" is ungoverned with one manual member.
 */
export async function seedAdminData(t: TestApp): Promise<AdminSeed> {
  const acme = await t.container.organizations.create({ name: 'acme', display_name: 'Acme Corporation' }, system);
  const globex = await t.container.organizations.create({ name: 'globex', display_name: 'Globex' }, system);
  const conn = await t.container.connections.create(
    {
      name: 'acme-okta',
      type: 'saml',
      domains: ['acme.com'],
      idp: { entity_id: 'http://www.okta.com/exk-acme', sso_url: 'https://acme.okta.test/app/sso/saml', certificates: [certPem] },
      membership_rules: [{ organization: 'acme', role: 'member' }],
    },
    system,
  );
  const users: Record<string, string> = {};
  for (const [key, email, name] of [
    ['ada', 'ada@acme.com', 'Ada Lovelace'],
    ['grace', 'grace@acme.com', 'Grace Hopper'],
    ['linus', 'linus@acme.com', 'Linus Torvalds'],
    ['margaret', 'margaret@acme.com', 'Margaret Hamilton'],
    ['hal', 'hal@globex.com', 'Hal Abelson'],
  ] as const) {
    users[key] = await createUser(t, email, name);
  }
  await addMember(t, acme.id, users.ada!, 'owner', 'sso');
  await addMember(t, acme.id, users.grace!, 'admin', 'scim');
  await addMember(t, acme.id, users.linus!, 'member', 'sso');
  await addMember(t, acme.id, users.margaret!, 'member', 'scim');
  await addMember(t, globex.id, users.hal!, 'member', 'manual');
  await flag(t, acme.id, users.linus!, 'idp_deactivated', 'PATCH active=false');
  await flag(t, acme.id, users.margaret!, 'idp_group_removed', 'PATCH Groups remove member');
  const at = t.container.clock.now().toISOString();
  await insertSyncRuns(t.container.db, [
    { ...emptyRun({ id: t.container.ids.uuid(), trigger: 'login', user_id: users.ada!, connection_id: conn.id, directory_id: null, at }), added: [{ organization_id: acme.id, role: 'owner' }] },
    {
      ...emptyRun({ id: t.container.ids.uuid(), trigger: 'scim', user_id: users.linus!, connection_id: conn.id, directory_id: null, at }),
      flagged: [{ organization_id: acme.id, reason: 'idp_deactivated' }],
    },
  ]);
  return { acme: { id: acme.id, name: acme.name }, globex: { id: globex.id, name: globex.name }, connectionId: conn.id, users };
}

/** A seeded app and an admin-page session signed in with its admin key: the admin HTTP tests' start. */
export async function startAdminSession(): Promise<{ t: TestApp; seed: AdminSeed; a: AdminClient }> {
  const t = await startTestApp();
  const seed = await seedAdminData(t);
  const a = new AdminClient(t.url);
  await a.signIn(t.adminKey);
  return { t, seed, a };
}
