import type { Executor } from '../../platform/db.js';

export interface OrganizationRow {
  id: string;
  name: string;
  display_name: string;
  connection_id: string | null;
  created_at: string;
  updated_at: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Finds by id or by name (names are slugs and never look like UUIDs). */
export function findOrganization(db: Executor, idOrName: string): Promise<OrganizationRow | undefined> {
  return db<OrganizationRow>('organizations')
    .where(UUID.test(idOrName) ? { id: idOrName.toLowerCase() } : { name: idOrName.toLowerCase() })
    .first();
}

export function findOrganizationsByIds(db: Executor, ids: string[]): Promise<OrganizationRow[]> {
  return db<OrganizationRow>('organizations').whereIn('id', ids);
}

export function listOrganizations(db: Executor, take: number, afterId?: string): Promise<OrganizationRow[]> {
  const q = db<OrganizationRow>('organizations').orderBy('id').limit(take);
  if (afterId) q.where('id', '>', afterId);
  return q;
}

export async function insertOrganization(db: Executor, row: OrganizationRow): Promise<void> {
  await db('organizations').insert(row);
}

export async function updateOrganization(db: Executor, id: string, patch: Partial<OrganizationRow>): Promise<void> {
  await db('organizations').where({ id }).update(patch);
}

export async function deleteOrganization(db: Executor, id: string): Promise<void> {
  await db('organizations').where({ id }).delete();
}
