import type { Db, Trx } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { isAppError, type AppError } from '../../platform/errors.js';
import { inTransaction } from '../../platform/transaction.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import type { EventService } from '../events/service.js';
import type { Connection } from '../connections/schema.js';
import type { MembershipSyncService } from '../membership-sync/service.js';
import type { SyncRun } from '../membership-sync/sync-runs.js';
import { directoryDenies } from '../membership-sync/queries.js';
import { WriteBatch } from '../membership-sync/write-batch.js';
import { ssoFailure } from './errors.js';
import { googleDomainRefusal, type LoginProfile } from './login-profile.js';
import * as q from './identity-queries.js';
import { authorityGiven, hasAuthority, linkableByEmail } from '../users/account-trust.js';
import { readLoginContext } from './login-context.js';

/** Receives sign-ins through a connection still being set up (setup links); returns where to go next. */
export interface SetupTestSink {
  record(connection: Connection, profile: LoginProfile): Promise<string>;
}

export interface LoginResult {
  userId: string;
  run: SyncRun;
  created: boolean;
}

const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

/**
 * SPEC §3: one transaction per validated login — domain check, identity, deny, membership sync,
 * sync run and audit. A denial rolls everything back and is audited on its own.
 */
export class LoginService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditService,
    private readonly events: EventService,
    private readonly sync: MembershipSyncService,
    private readonly setupTests?: SetupTestSink,
  ) {}

  /** A test sign-in through a connection in `setup`: recorded for the setup page, nothing else. */
  async setupTest(connection: Connection, profile: LoginProfile): Promise<string> {
    if (!this.setupTests) throw ssoFailure('unknown_connection');
    return this.setupTests.record(connection, profile);
  }

  async login(connection: Connection, profile: LoginProfile): Promise<LoginResult> {
    const actor: Actor = { type: 'login', id: connection.id };
    try {
      return await inTransaction(this.db, (trx) => this.loginIn(trx, connection, profile, actor), { retryUniqueViolation: () => true });
    } catch (err) {
      if (isAppError(err) && (err.code === 'email_domain_not_verified' || err.code === 'user_deactivated' || err.code === 'invalid_response')) {
        await this.recordDenied(connection, err, { protocol: profile.protocol, subject: profile.subject, email: profile.email });
      }
      throw err;
    }
  }

  /**
   * A sign-in the IdP vouched for (its response checked) and orgsync refused, in the audit log. Also
   * called by the SAML ACS for refusals before a login profile exists (a transient NameID alone).
   */
  async recordDenied(connection: Pick<Connection, 'id'>, err: AppError, detail: { protocol: string; subject?: string; email?: string | null; why?: string }): Promise<void> {
    await this.audit.record(this.db, {
      action: 'login.denied',
      actor: { type: 'login', id: connection.id },
      targetUserId: (err.options.detail as { userId?: string } | undefined)?.userId ?? null,
      detail: { connection_id: connection.id, ...detail, reason: err.code },
    });
  }

  private async loginIn(trx: Trx, connection: Connection, profile: LoginProfile, actor: Actor): Promise<LoginResult> {
    const now = this.clock.now().toISOString();
    if (!profile.email) throw ssoFailure('invalid_response', { why: 'The response carried no email address.' });
    const domainVerified = connection.domains.includes(domainOf(profile.email));
    const googleRefusal = googleDomainRefusal(connection, profile);
    if (googleRefusal) throw ssoFailure('email_domain_not_verified', { why: googleRefusal });

    // Email links accounts only when the IdP vouches for it, in a domain this connection verified.
    const emailTrusted = profile.emailVerified !== false;
    // The email's lock first: a SCIM create or another sign-in of this person on another instance
    // must not create a second account.
    const lock = [`user-email:${profile.email.toLowerCase()}`];
    const { directoryId, identity, ahead } = await readLoginContext(trx, connection.id, profile.subject, profile.email, emailTrusted && domainVerified, lock);
    // The sign-in's writes, in order, flushed together at the end (one statement on PostgreSQL).
    const writes = new WriteBatch();
    let created = false;
    let userId: string | undefined;
    userId = identity?.user_id;
    let scim: q.ScimMatch | undefined;
    if (directoryId) scim = await q.findScimUser(trx, directoryId, profile.externalId, emailTrusted ? profile.email : null);
    // SPEC §2: someone whose email is in a domain this connection has not verified signs in only when
    // the connection already knows them (an identity, or a user its own directory provisioned), and
    // stays bound to this connection alone.
    if (!domainVerified && !identity && !scim) throw ssoFailure('email_domain_not_verified');
    if (!userId && scim?.user_id) userId = scim.user_id;
    if (!userId && emailTrusted && domainVerified) userId = ahead ? (ahead.linkableId ?? undefined) : (await linkableByEmail(trx, connection.id, [profile.email]))[0]?.id;
    if (!userId) {
      userId = this.ids.uuid();
      created = true;
      writes.insert('users', [
        {
          id: userId,
          email: profile.email,
          email_lower: profile.email.toLowerCase(),
          name: profile.name ?? ([profile.givenName, profile.familyName].filter(Boolean).join(' ') || null),
          given_name: profile.givenName,
          family_name: profile.familyName,
          active: true,
          created_at: now,
          updated_at: now,
          last_login_at: now,
          bound_connection_id: domainVerified ? null : connection.id,
        },
      ]);
    }
    const linked = !!(directoryId && scim && !scim.user_id);
    if (linked) writes.update('scim_users', { user_id: userId }, { id: scim!.id, user_id: null });

    if (directoryId) {
      // The directory's verdict reads the link just made.
      await writes.flush(trx);
      const denied = await directoryDenies(trx, directoryId, userId);
      if (denied) throw ssoFailure('user_deactivated', { why: `directory: ${denied}`, userId: created ? undefined : userId });
    }

    // An incomplete list is not remembered as the user's groups (rule previews would read it as such).
    const groups = profile.groupsIncomplete ? null : JSON.stringify(profile.groups);
    if (identity) {
      writes.update('identities', { last_login_at: now, external_id: profile.externalId, last_groups: groups }, { id: identity.id });
    } else {
      writes.insert('identities', [{ id: this.ids.uuid(), user_id: userId, connection_id: connection.id, subject: profile.subject, external_id: profile.externalId, created_at: now, last_login_at: now, last_groups: groups }]);
    }
    // What was read ahead is about this account only when the sign-in chose the candidate and
    // linked no SCIM user to it since (its SCIM groups would be missing).
    const readAhead = ahead && !linked && (ahead.candidateId === userId || (created && !directoryId)) ? ahead : undefined;
    const profileUpdate: Record<string, string> = { last_login_at: now, updated_at: now };
    if (profile.name) profileUpdate.name = profile.name;
    if (profile.givenName) profileUpdate.given_name = profile.givenName;
    if (profile.familyName) profileUpdate.family_name = profile.familyName;
    if (!created) {
      // Only a connection that speaks for the account renames it (SPEC §2); any sign-in is recorded.
      const authority = readAhead ? !!readAhead.account && authorityGiven(connection.id, readAhead.account, readAhead.verifiedDomains) : await hasAuthority(trx, connection.id, userId);
      if (!authority) for (const k of ['name', 'given_name', 'family_name']) delete profileUpdate[k];
      writes.update('users', profileUpdate, { id: userId });
    } else {
      writes.insert('audit_events', this.audit.rows({ action: 'user.provisioned', actor, targetUserId: userId, detail: { source: 'login', connection_id: connection.id } }));
      writes.insert('events', this.events.rows({ type: 'user.provisioned', userId, data: { source: 'login', connection_id: connection.id, email: profile.email } }));
    }
    // A new account has no memberships or removal records yet; the connection's organizations were read.
    const planInputs = readAhead && (created ? { ...readAhead.plan, memberships: [], removed: new Set<string>(), scimGroups: [] } : readAhead.plan);

    const run = (await this.sync.syncUser(trx, {
      connection,
      userId,
      loginGroups: profile.groups,
      loginGroupsIncomplete: profile.groupsIncomplete,
      loginGroupAttributes: profile.groupAttributes ?? [],
      trigger: 'login',
      actor,
      lostGrant: 'login_lost_grant',
      alwaysRecord: true,
      planInputs,
      batch: writes,
    }))!;
    writes.insert('audit_events', this.audit.rows({
      action: 'login.succeeded',
      actor,
      targetUserId: userId,
      detail: {
        connection_id: connection.id,
        protocol: profile.protocol,
        subject: profile.subject,
        sync_run_id: run.id,
        added: run.added.length,
        updated: run.updated.length,
        flagged: run.flagged.length,
        restored: run.restored.length,
        skipped: run.skipped.length,
        ...(run.incomplete ? { groups_incomplete: run.incomplete.reason, held: run.incomplete.held.length } : {}),
        ...(run.group_matching?.unmatched ? { groups_matched_no_rule: run.group_matching.unmatched.attributes.map((a) => a.name) } : {}),
      },
    }));
    // Nothing reads these back: on PostgreSQL they go with the COMMIT.
    await writes.flush(trx, { atCommit: true });
    return { userId, run, created };
  }
}
