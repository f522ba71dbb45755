import type { Db } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/service.js';
import type { Connection, MembershipRule } from '../connections/schema.js';
import type { MembershipSyncService } from '../membership-sync/service.js';
import { desiredMemberships, groupTokens } from '../membership-sync/rules.js';
import type { LoginProfile } from '../sso/login-profile.js';
import type { SetupTestSink } from '../sso/login-service.js';
import { DEFAULT_ROLES, readDraft, rulesFor, type TestOutcome, type TestResult } from './draft.js';
import * as q from './queries.js';
import { setupLinkActor, statusOf } from './service.js';

const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

/**
 * A sign-in through a connection in `setup` lands here instead of login sync: what arrived and what
 * the organization's rules would do are stored for the setup page. Reads only: no account,
 * identity, membership or session is created.
 */
export class SetupTestRecorder implements SetupTestSink {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly sync: MembershipSyncService,
  ) {}

  async record(connection: Connection, profile: LoginProfile): Promise<string> {
    const now = this.clock.now().toISOString();
    const link = (await this.db<q.SetupLinkRow>('setup_links').where({ connection_id: connection.id })).find((l) => statusOf(l, now) === 'active');
    // A draft whose link was revoked or expired signs nobody in, not even as a test.
    if (!link) throw new AppError('unknown_connection', 404, 'This connection is not set up yet.');
    const draft = readDraft(link.draft);
    const result: TestResult = {
      at: now,
      protocol: profile.protocol,
      subject: profile.subject,
      email: profile.email,
      name: profile.name,
      groups: profile.groups.slice(0, 200),
      outcome: await this.outcome(link, connection, profile, draft.roles ?? DEFAULT_ROLES),
    };
    await q.updateSetupLink(this.db, link.id, { draft: JSON.stringify({ ...draft, test: result }) });
    await this.audit.record(this.db, { action: 'setup_link.test_sign_in', actor: setupLinkActor(link), organizationId: link.organization_id, detail: { setup_link_id: link.id, subject: result.subject, email: result.email, outcome: result.outcome } });
    return '/setup#test';
  }

  private async outcome(link: q.SetupLinkRow, connection: Connection, profile: LoginProfile, roles: typeof DEFAULT_ROLES): Promise<TestOutcome> {
    if (!profile.email) return { kind: 'denied', reason: 'no_email' };
    const verified = await q.challengesOf(this.db, 'setup_link', link.id);
    if (!verified.some((c) => c.status === 'verified' && c.domain === domainOf(profile.email!))) return { kind: 'denied', reason: 'email_domain_not_verified' };
    const rules: MembershipRule[] = rulesFor(link.organization_id, roles).map((r) => ({ organization_id: link.organization_id, role: r.role, groups: r.groups ?? null }));
    const user = await this.db('users').where({ email_lower: profile.email.toLowerCase() }).first<{ id: string } | undefined>('id');
    if (!user) {
      const role = desiredMemberships(rules, groupTokens(profile.groups)).get(link.organization_id);
      return role ? { kind: 'would_add', role } : { kind: 'no_access' };
    }
    // The account exists (the domain is proven, so this connection would link to it): the real planner.
    const changes = await this.sync.planFor(this.db, { ...connection, membership_rules: rules }, user.id, profile.groups, 'login_lost_grant', rules, [link.organization_id]);
    for (const c of changes) {
      if (c.kind === 'add') return { kind: 'would_add', role: c.role };
      if (c.kind === 'role') return { kind: 'would_change_role', from: c.from, to: c.to };
      if (c.kind === 'flag') return { kind: 'would_flag' };
      if (c.kind === 'restore') return { kind: 'would_restore', role: desiredMemberships(rules, groupTokens(profile.groups)).get(link.organization_id) ?? 'member' };
    }
    const current = await this.db('memberships').where({ organization_id: link.organization_id, user_id: user.id }).first<{ role: 'owner' | 'admin' | 'member' } | undefined>('role');
    return current ? { kind: 'would_keep', role: current.role } : { kind: 'no_access' };
  }
}
