import type { Executor } from '../../platform/db.js';

export interface SetupLinkRow {
  id: string;
  organization_id: string;
  token_hash: string;
  intent_sso: boolean | number;
  intent_directory: boolean | number;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  finished_at: string | null;
  last_used_at: string | null;
  created_by_type: string;
  created_by_id: string | null;
  draft: string;
  connection_id: string | null;
  directory_id: string | null;
}

export interface ChallengeRow {
  id: string;
  owner_kind: 'connection' | 'setup_link';
  owner_id: string;
  domain: string;
  value: string;
  status: 'pending' | 'verified';
  created_at: string;
  last_checked_at: string | null;
  verified_at: string | null;
}

export async function insertSetupLink(db: Executor, row: SetupLinkRow): Promise<void> {
  await db('setup_links').insert(row);
}

export function findByTokenHash(db: Executor, tokenHash: string): Promise<SetupLinkRow | undefined> {
  return db<SetupLinkRow>('setup_links').where({ token_hash: tokenHash }).first();
}

export function findById(db: Executor, id: string): Promise<SetupLinkRow | undefined> {
  return db<SetupLinkRow>('setup_links').where({ id }).first();
}

/** Scoped by organization: a link id from another organization is simply not found. */
export function findInOrganization(db: Executor, organizationId: string, id: string): Promise<SetupLinkRow | undefined> {
  return db<SetupLinkRow>('setup_links').where({ organization_id: organizationId, id }).first();
}

export function listForOrganization(db: Executor, organizationId: string, take: number, afterId?: string): Promise<SetupLinkRow[]> {
  const q = db<SetupLinkRow>('setup_links').where({ organization_id: organizationId }).orderBy('id').limit(take);
  if (afterId) q.where('id', '>', afterId);
  return q;
}

/** Links of the organization that are still usable at `now`. */
export function liveForOrganization(db: Executor, organizationId: string, now: string): Promise<SetupLinkRow[]> {
  return db<SetupLinkRow>('setup_links')
    .where({ organization_id: organizationId })
    .whereNull('revoked_at')
    .whereNull('finished_at')
    .where('expires_at', '>', now);
}

export async function updateSetupLink(db: Executor, id: string, patch: Partial<SetupLinkRow>): Promise<void> {
  await db('setup_links').where({ id }).update(patch);
}

export function challengesOf(db: Executor, ownerKind: ChallengeRow['owner_kind'], ownerId: string): Promise<ChallengeRow[]> {
  return db<ChallengeRow>('domain_challenges').where({ owner_kind: ownerKind, owner_id: ownerId }).orderBy('domain');
}

export function findChallenge(db: Executor, ownerKind: ChallengeRow['owner_kind'], ownerId: string, domain: string): Promise<ChallengeRow | undefined> {
  return db<ChallengeRow>('domain_challenges').where({ owner_kind: ownerKind, owner_id: ownerId, domain }).first();
}

export async function insertChallenge(db: Executor, row: ChallengeRow): Promise<void> {
  await db('domain_challenges').insert(row);
}

export async function updateChallenge(db: Executor, id: string, patch: Partial<ChallengeRow>): Promise<void> {
  await db('domain_challenges').where({ id }).update(patch);
}

export async function deleteChallenge(db: Executor, id: string): Promise<void> {
  await db('domain_challenges').where({ id }).delete();
}
