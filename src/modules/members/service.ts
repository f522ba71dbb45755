import type { Db, Executor } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { AppError, conflict, invalidBody, notFound } from '../../platform/errors.js';
import { toPage, type Page } from '../../platform/paging.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import type { EventService } from '../events/service.js';
import { findOrganization, type OrganizationRow } from '../organizations/queries.js';
import type { Role } from '../memberships/types.js';
import { clearRemovalRecords } from '../flags/removal-records.js';
import * as q from './queries.js';
import { removeMemberships } from './removal.js';
import { inTransaction } from '../../platform/transaction.js';

export interface Invitation {
  id: string;
  organization_id: string;
  email: string;
  role: Role;
  created_at: string;
}

const ssoManaged = (org: OrganizationRow) =>
  conflict('sso_managed_organization', `Organization "${org.name}" is managed by its SSO connection; members are added by the identity provider.`);

/** Lists at most a few ids in a message, so a 1,000-id mistake stays readable. */
export const nameIds = (ids: string[]): string => (ids.length <= 10 ? ids.join(', ') : `${ids.slice(0, 10).join(', ')} and ${ids.length - 10} more`);

export class MemberService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditService,
    private readonly events: EventService,
    private readonly maxOrganizationsPerUser: number,
  ) {}

  async organization(db: Executor, ref: string): Promise<OrganizationRow> {
    const org = await findOrganization(db, ref);
    if (!org) throw notFound('Organization');
    return org;
  }

  async list(ref: string, f: { status: q.StatusFilter; after?: string; take: number }): Promise<Page<q.Member>> {
    const org = await this.organization(this.db, ref);
    const rows = await q.listMembers(this.db, org.id, { status: f.status, afterUserId: f.after, take: f.take + 1 });
    return toPage(rows, f.take, (m) => ({ user_id: m.user_id }));
  }

  /** Manual add: only for organizations no connection governs; all or nothing. */
  async add(ref: string, userIds: string[], role: Role, actor: Actor): Promise<void> {
    const ids = [...new Set(userIds)];
    await inTransaction(this.db, async (trx) => {
      const org = await this.organization(trx, ref);
      if (org.connection_id) throw ssoManaged(org);
      const known = await q.existingUserIds(trx, ids);
      const unknown = ids.filter((id) => !known.has(id));
      if (unknown.length) throw invalidBody(`Invalid request body: members: unknown user ids: ${nameIds(unknown)}.`);
      const already = new Set((await q.membershipsAmong(trx, org.id, ids)).map((m) => m.user_id));
      const toAdd = ids.filter((id) => !already.has(id));
      const counts = await q.membershipCounts(trx, toAdd);
      const full = toAdd.filter((id) => (counts.get(id) ?? 0) >= this.maxOrganizationsPerUser);
      if (full.length) {
        throw new AppError('membership_limit_exceeded', 409, `A user can belong to at most ${this.maxOrganizationsPerUser} organizations.`, {
          detail: { user_ids: full },
        });
      }
      const at = this.clock.now().toISOString();
      for (let i = 0; i < toAdd.length; i += 200) {
        await trx('memberships').insert(
          toAdd.slice(i, i + 200).map((user_id) => ({ organization_id: org.id, user_id, role, source: 'manual', status: 'active', joined_at: at, last_synced_at: at })),
        );
      }
      await this.audit.record(trx, ...toAdd.map((id) => ({ action: 'membership.added', actor, organizationId: org.id, targetUserId: id, detail: { role, source: 'manual' } })));
      await this.events.emit(trx, ...toAdd.map((id) => ({ type: 'membership.added' as const, organizationId: org.id, userId: id, data: { role, source: 'manual' } })));
    });
  }

  async invite(ref: string, email: string, role: Role, actor: Actor): Promise<Invitation> {
    return inTransaction(this.db, async (trx) => {
      const org = await this.organization(trx, ref);
      if (org.connection_id) throw ssoManaged(org);
      const inv: Invitation = { id: this.ids.uuid(), organization_id: org.id, email, role, created_at: this.clock.now().toISOString() };
      await trx('invitations').insert(inv);
      await this.audit.record(trx, { action: 'invitation.created', actor, organizationId: org.id, detail: { invitation_id: inv.id, email, role } });
      return inv;
    });
  }

  /** Auth0-style bulk removal: every id must be a member, else nothing is removed. */
  async remove(ref: string, userIds: string[], actor: Actor): Promise<number> {
    const ids = [...new Set(userIds)];
    return inTransaction(this.db, async (trx) => {
      const org = await this.organization(trx, ref);
      const found = await q.membershipsAmong(trx, org.id, ids);
      const members = new Set(found.map((m) => m.user_id));
      const unknown = ids.filter((id) => !members.has(id));
      if (unknown.length) throw invalidBody(`Invalid request body: members: not members of this organization: ${nameIds(unknown)}.`);
      await removeMemberships(trx, { audit: this.audit, events: this.events, at: this.clock.now().toISOString() }, org, found, actor);
      return found.length;
    });
  }

  async removeOne(ref: string, userId: string, actor: Actor): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const org = await this.organization(trx, ref);
      const found = await q.membershipsAmong(trx, org.id, [userId]);
      if (found.length === 0) throw notFound('Member');
      await removeMemberships(trx, { audit: this.audit, events: this.events, at: this.clock.now().toISOString() }, org, found, actor);
    });
  }

  /** Removes every flagged member in one transaction; `dryRun` only lists them. */
  async removeFlagged(ref: string, actor: Actor, opts: { dryRun?: boolean } = {}): Promise<q.MembershipBrief[]> {
    return inTransaction(this.db, async (trx) => {
      const org = await this.organization(trx, ref);
      const flagged: q.MembershipBrief[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await q.flaggedPage(trx, org.id, after, 5000);
        flagged.push(...page);
        if (page.length < 5000) break;
        after = page[page.length - 1]!.user_id;
      }
      if (!opts.dryRun) await removeMemberships(trx, { audit: this.audit, events: this.events, at: this.clock.now().toISOString() }, org, flagged, actor);
      return flagged;
    });
  }

  async setRole(ref: string, userId: string, role: Role, actor: Actor): Promise<q.Member> {
    return inTransaction(this.db, async (trx) => {
      const org = await this.organization(trx, ref);
      if (org.connection_id) {
        const conn = await trx('connections').where({ id: org.connection_id }).first<{ roles_managed_by: string } | undefined>('roles_managed_by');
        if (conn?.roles_managed_by === 'idp') {
          throw conflict('role_managed_by_idp', `Roles in organization "${org.name}" are managed by the identity provider.`);
        }
      }
      const member = await q.findMember(trx, org.id, userId);
      if (!member) throw notFound('Member');
      if (member.role === role) return member;
      await trx('memberships').where({ organization_id: org.id, user_id: userId }).update({ role });
      const detail = { from_role: member.role, to_role: role };
      await this.audit.record(trx, { action: 'membership.role_changed', actor, organizationId: org.id, targetUserId: userId, detail });
      await this.events.emit(trx, { type: 'membership.role_changed', organizationId: org.id, userId, data: detail });
      return { ...member, role };
    });
  }

  async clearRemoval(ref: string, userId: string, actor: Actor): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const org = await this.organization(trx, ref);
      const cleared = await clearRemovalRecords(trx, this.audit, [{ organizationId: org.id, userId }], actor, { by: 'admin' });
      if (cleared.length === 0) throw notFound('Removal record');
    });
  }
}

