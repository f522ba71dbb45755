import { selectRows, type Executor } from '../../platform/db.js';
import type { Role } from '../memberships/types.js';

export interface ConnectionRow {
  id: string;
  name: string;
  type: 'saml' | 'oidc';
  idp: string;
  attribute_mapping: string;
  roles_managed_by: 'idp' | 'admin';
  membership_sync: 'on_login' | 'scim_and_login';
  allow_idp_initiated: boolean | number;
  allow_sha1_signatures: boolean | number;
  sign_authn_requests?: boolean | number | null;
  require_encrypted_assertions?: boolean | number;
  auto_remove_flagged_after_days: number | null;
  /** Absent on insert: the column defaults to `dn`. */
  group_dn_match?: 'dn' | 'cn';
  created_at: string;
  updated_at: string;
  /** Absent on insert: the column defaults to `active`. */
  status?: 'active' | 'setup';
}

export interface RuleRow {
  connection_id: string;
  position: number;
  organization_id: string;
  role: Role;
  groups: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** By id, or by name (names are slugs and never look like UUIDs). */
export function findConnectionRow(db: Executor, idOrName: string): Promise<ConnectionRow | undefined> {
  return db<ConnectionRow>('connections')
    .where(UUID.test(idOrName) ? { id: idOrName.toLowerCase() } : { name: idOrName.toLowerCase() })
    .first();
}

export function listConnectionRows(db: Executor, take: number, afterId?: string): Promise<ConnectionRow[]> {
  const q = db<ConnectionRow>('connections').orderBy('id').limit(take);
  if (afterId) q.where('id', '>', afterId);
  return q;
}

export async function insertConnection(db: Executor, row: ConnectionRow): Promise<void> {
  await db('connections').insert(row);
}

export async function updateConnection(db: Executor, id: string, patch: Partial<ConnectionRow>): Promise<void> {
  await db('connections').where({ id }).update(patch);
}

export async function deleteConnection(db: Executor, id: string): Promise<void> {
  await db('connections').where({ id }).delete();
}

export async function domainsOf(db: Executor, connectionIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(connectionIds.map((id) => [id, []]));
  if (connectionIds.length === 0) return out;
  const rows = await db('connection_domains').whereIn('connection_id', connectionIds).orderBy('domain').select<{ domain: string; connection_id: string }[]>('domain', 'connection_id');
  for (const r of rows) out.get(r.connection_id)?.push(r.domain);
  return out;
}

/** Domains of `domains` already verified for a connection other than `connectionId`. */
export async function claimedDomains(db: Executor, domains: string[], connectionId: string): Promise<string[]> {
  const rows = await db('connection_domains').whereIn('domain', domains).whereNot({ connection_id: connectionId }).select<{ domain: string }[]>('domain');
  return rows.map((r) => r.domain);
}

export async function replaceDomains(db: Executor, connectionId: string, domains: string[]): Promise<void> {
  await db('connection_domains').where({ connection_id: connectionId }).delete();
  if (domains.length) await db('connection_domains').insert(domains.map((domain) => ({ domain, connection_id: connectionId })));
}

export async function rulesOf(db: Executor, connectionId: string): Promise<RuleRow[]> {
  return db<RuleRow>('membership_rules').where({ connection_id: connectionId }).orderBy('position');
}

export async function replaceRules(db: Executor, connectionId: string, rules: Omit<RuleRow, 'connection_id' | 'position'>[]): Promise<void> {
  await db('membership_rules').where({ connection_id: connectionId }).delete();
  const rows = rules.map((r, position) => ({ ...r, connection_id: connectionId, position }));
  for (let i = 0; i < rows.length; i += 200) await db('membership_rules').insert(rows.slice(i, i + 200));
}

/** Organizations (of `orgIds`) governed by a connection other than `connectionId`. */
export function governedElsewhere(db: Executor, orgIds: string[], connectionId: string): Promise<{ id: string; name: string }[]> {
  if (orgIds.length === 0) return Promise.resolve([]);
  return db('organizations').whereIn('id', orgIds).whereNotNull('connection_id').whereNot({ connection_id: connectionId }).select('id', 'name');
}

/** Makes the connection govern exactly `orgIds`: organizations no rule names any more are released. */
export async function setGovernedOrganizations(db: Executor, connectionId: string, orgIds: string[], at: string): Promise<void> {
  const release = db('organizations').where({ connection_id: connectionId });
  if (orgIds.length) release.whereNotIn('id', orgIds);
  await release.update({ connection_id: null, updated_at: at });
  for (let i = 0; i < orgIds.length; i += 500) {
    await db('organizations').whereIn('id', orgIds.slice(i, i + 500)).whereNull('connection_id').update({ connection_id: connectionId, updated_at: at });
  }
}

export async function governedOrganizationIds(db: Executor, connectionId: string): Promise<string[]> {
  return (await selectRows<{ id: string }>(db, 'SELECT "id" FROM "organizations" WHERE "connection_id" = ?', [connectionId])).map((r) => r.id);
}

export async function organizationsByIdOrName(db: Executor, refs: string[]): Promise<Map<string, { id: string; name: string }>> {
  const ids = refs.filter((r) => UUID.test(r)).map((r) => r.toLowerCase());
  const names = refs.filter((r) => !UUID.test(r)).map((r) => r.toLowerCase());
  const rows: { id: string; name: string }[] = [];
  for (let i = 0; i < ids.length; i += 500) rows.push(...(await db('organizations').whereIn('id', ids.slice(i, i + 500)).select('id', 'name')));
  for (let i = 0; i < names.length; i += 500) rows.push(...(await db('organizations').whereIn('name', names.slice(i, i + 500)).select('id', 'name')));
  const out = new Map<string, { id: string; name: string }>();
  for (const r of rows) {
    out.set(r.id, r);
    out.set(r.name, r);
  }
  return out;
}

export async function organizationNames(db: Executor, orgIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < orgIds.length; i += 500) {
    for (const r of await db('organizations').whereIn('id', orgIds.slice(i, i + 500)).select<{ id: string; name: string }[]>('id', 'name')) out.set(r.id, r.name);
  }
  return out;
}

export async function connectionIdForDomain(db: Executor, domain: string): Promise<string | undefined> {
  const row = await db('connection_domains').where({ domain: domain.toLowerCase() }).first<{ connection_id: string } | undefined>('connection_id');
  return row?.connection_id;
}

export async function connectionNames(db: Executor, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db('connections').whereIn('id', ids.slice(0, 500)).select<{ id: string; name: string }[]>('id', 'name');
  return new Map(rows.map((r) => [r.id, r.name] as const));
}

/** A connection's `membership_sync` mode alone: one column decides whether SCIM grants apply at once. */
export async function membershipSyncMode(db: Executor, connectionId: string): Promise<string | undefined> {
  const [row] = await selectRows<{ membership_sync: string }>(db, 'SELECT "membership_sync" FROM "connections" WHERE "id" = ?', [connectionId]);
  return row?.membership_sync;
}
