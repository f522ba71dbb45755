import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/platform/db.js';
import type { FlagEvidence, FlagReason, MembershipSource, Role } from '../../src/modules/memberships/types.js';

/**
 * Small builders that write rows straight into the database, so member/report/flag tests can set
 * up users, connections, directories and memberships without going through SSO or SCIM.
 */
export class Builder {
  private n = 0;
  constructor(private readonly db: Db, private readonly now: () => string = () => new Date().toISOString()) {}

  private seq(): number {
    this.n += 1;
    return this.n;
  }

  async user(p: { email?: string; name?: string | null; active?: boolean; last_login_at?: string | null } = {}): Promise<{ id: string; email: string }> {
    const i = this.seq();
    const email = p.email ?? `user${i}-${randomUUID().slice(0, 6)}@example.com`;
    const id = randomUUID();
    const at = this.now();
    await this.db('users').insert({
      id,
      email,
      email_lower: email.toLowerCase(),
      name: p.name === undefined ? `User ${i}` : p.name,
      active: p.active ?? true,
      created_at: at,
      updated_at: at,
      last_login_at: p.last_login_at ?? null,
    });
    return { id, email };
  }

  async connection(p: { name?: string; domains?: string[]; type?: 'saml' | 'oidc'; roles_managed_by?: 'idp' | 'admin'; membership_sync?: string; auto_remove_flagged_after_days?: number | null } = {}): Promise<{ id: string; name: string }> {
    const id = randomUUID();
    const name = p.name ?? `conn-${this.seq()}`;
    const at = this.now();
    await this.db('connections').insert({
      id,
      name,
      type: p.type ?? 'saml',
      idp: JSON.stringify({ entity_id: `https://idp.example.com/${name}`, sso_url: 'https://idp.example.com/sso', certificates: [] }),
      attribute_mapping: '{}',
      roles_managed_by: p.roles_managed_by ?? 'idp',
      membership_sync: p.membership_sync ?? 'on_login',
      allow_idp_initiated: false,
      auto_remove_flagged_after_days: p.auto_remove_flagged_after_days ?? null,
      created_at: at,
      updated_at: at,
    });
    for (const domain of p.domains ?? []) await this.db('connection_domains').insert({ domain, connection_id: id });
    return { id, name };
  }

  async organization(p: { name?: string; connection_id?: string | null } = {}): Promise<{ id: string; name: string }> {
    const id = randomUUID();
    const name = p.name ?? `org-${this.seq()}-${id.slice(0, 4)}`;
    const at = this.now();
    await this.db('organizations').insert({ id, name, display_name: name, connection_id: p.connection_id ?? null, created_at: at, updated_at: at });
    return { id, name };
  }

  /** A membership rule; `groups` null grants everyone on the connection. */
  async rule(p: { connection_id: string; organization_id: string; role?: Role; groups?: string[] | null; position?: number }): Promise<void> {
    const max = await this.db('membership_rules').where({ connection_id: p.connection_id }).max<{ m: number | null }[]>({ m: 'position' });
    await this.db('membership_rules').insert({
      connection_id: p.connection_id,
      position: p.position ?? Number(max[0]?.m ?? -1) + 1,
      organization_id: p.organization_id,
      role: p.role ?? 'member',
      groups: p.groups === undefined || p.groups === null ? null : JSON.stringify(p.groups),
    });
  }

  async directory(p: { connection_id: string; name?: string }): Promise<{ id: string }> {
    const id = randomUUID();
    await this.db('directories').insert({ id, connection_id: p.connection_id, name: p.name ?? 'dir', created_at: this.now() });
    return { id };
  }

  async scimUser(p: { directory_id: string; user_id: string | null; userName?: string; active?: boolean; external_id?: string | null }): Promise<{ id: string }> {
    const id = randomUUID();
    const userName = p.userName ?? `scim${this.seq()}@example.com`;
    const at = this.now();
    await this.db('scim_users').insert({
      id,
      directory_id: p.directory_id,
      user_id: p.user_id,
      user_name: userName,
      user_name_lower: userName.toLowerCase(),
      external_id: p.external_id ?? null,
      primary_email_lower: userName.toLowerCase(),
      active: p.active ?? true,
      data: JSON.stringify({ userName, active: p.active ?? true }),
      created_at: at,
      updated_at: at,
    });
    return { id };
  }

  async scimGroup(p: { directory_id: string; displayName: string; external_id?: string | null; members?: string[] }): Promise<{ id: string }> {
    const id = randomUUID();
    const at = this.now();
    await this.db('scim_groups').insert({
      id,
      directory_id: p.directory_id,
      display_name: p.displayName,
      display_name_lower: p.displayName.toLowerCase(),
      external_id: p.external_id ?? null,
      data: JSON.stringify({ displayName: p.displayName }),
      created_at: at,
      updated_at: at,
    });
    for (const m of p.members ?? []) await this.groupMember(id, m, p.directory_id);
    return { id };
  }

  async groupMember(groupId: string, scimUserId: string, directoryId: string): Promise<void> {
    await this.db('scim_group_members').insert({ group_id: groupId, scim_user_id: scimUserId, directory_id: directoryId, added_at: this.now() });
  }

  async membership(p: {
    organization_id: string;
    user_id: string;
    role?: Role;
    source?: MembershipSource;
    flagged?: { reason: FlagReason; at?: string; evidence?: FlagEvidence };
  }): Promise<void> {
    const at = this.now();
    await this.db('memberships').insert({
      organization_id: p.organization_id,
      user_id: p.user_id,
      role: p.role ?? 'member',
      source: p.source ?? 'sso',
      status: p.flagged ? 'flagged' : 'active',
      flagged_reason: p.flagged?.reason ?? null,
      flagged_at: p.flagged ? (p.flagged.at ?? at) : null,
      flag_evidence: p.flagged ? JSON.stringify(p.flagged.evidence ?? { channel: 'scim', action: 'PATCH active=false', at }) : null,
      joined_at: at,
      last_synced_at: at,
    });
  }

  async session(userId: string): Promise<string> {
    const id = randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');
    await this.db('sessions').insert({ id_hash: id, user_id: userId, data: '{}', expires_at: '2999-01-01T00:00:00.000Z', created_at: this.now() });
    return id;
  }
}
