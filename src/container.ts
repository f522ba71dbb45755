import type { Config } from './config/index.js';
import { createDb, migrateLatest, type Db } from './platform/db.js';
import { systemClock, type Clock } from './platform/clock.js';
import { defaultIds, type IdGenerator } from './platform/ids.js';
import { createLogger, type Logger } from './platform/logger.js';
import { SecretBox } from './platform/crypto.js';
import { resolveSecret } from './platform/settings.js';
import { RateLimiter } from './http/rate-limit.js';
import { AuditService } from './modules/audit/service.js';
import { ApiKeyService } from './modules/api-keys/service.js';
import { OrganizationService } from './modules/organizations/service.js';
import { UserService } from './modules/users/service.js';
import { EventService } from './modules/events/service.js';
import { ConnectionService } from './modules/connections/service.js';
import { MembershipSyncService } from './modules/membership-sync/service.js';
import { scimGrantsThroughRules } from './modules/membership-sync/scim-grants.js';
import type { ScimLifecycleListener } from './modules/scim/lifecycle.js';
import { FlagWriter } from './modules/flags/writer.js';
import { ScimFlagListener } from './modules/flags/scim-listener.js';
import { ReconcileService } from './modules/flags/reconcile.js';
import { MemberService } from './modules/members/service.js';
import { ReportService } from './modules/reports/service.js';
import { DirectoryService } from './modules/directories/service.js';
import { WebhookService } from './modules/webhooks/service.js';

export interface ContainerOptions {
  config: Config;
  db?: Db;
  clock?: Clock;
  ids?: IdGenerator;
  logger?: Logger;
  /** Run migrations before wiring services (the server and tests do; `orgsync migrate` does not). */
  migrate?: boolean;
}

/** Everything the app needs, wired once. Nothing here starts timers or listens. */
export interface Container {
  config: Config;
  db: Db;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  secretBox: SecretBox;
  rateLimiter: RateLimiter;
  audit: AuditService;
  events: EventService;
  webhooks: WebhookService;
  apiKeys: ApiKeyService;
  organizations: OrganizationService;
  users: UserService;
  connections: ConnectionService;
  /** Membership rules → memberships for one user; see MembershipSyncService.syncUser. */
  membershipSync: MembershipSyncService;
  /** Called by SCIM writes inside their transaction: flags and restores memberships. */
  scimLifecycle: ScimLifecycleListener;
  members: MemberService;
  reports: ReportService;
  reconcile: ReconcileService;
  directories: DirectoryService;
  close(): Promise<void>;
}

export async function createContainer(opts: ContainerOptions): Promise<Container> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const db = opts.db ?? createDb(config.databaseUrl, { log: { warn: (m) => logger.warn({ component: 'db' }, m), error: (m) => logger.error({ component: 'db' }, m) } });
  const clock = opts.clock ?? systemClock;
  const ids = opts.ids ?? defaultIds;
  if (opts.migrate ?? true) await migrateLatest(db);
  const secretBox = new SecretBox(await resolveSecret(db, clock, config.secret));
  const audit = new AuditService(db, clock, ids);
  const events = new EventService(db, clock, ids);
  const flagWriter = new FlagWriter(audit, events);
  // PUBLIC_URL is read late: tests point it at their ephemeral port after wiring.
  const connections = new ConnectionService(db, clock, ids, audit, secretBox, () => container.config.publicUrl);
  const membershipSync = new MembershipSyncService(db, clock, ids, audit, events, config.maxOrganizationsPerUser);
  const container: Container = {
    config,
    db,
    clock,
    ids,
    logger,
    secretBox,
    rateLimiter: new RateLimiter(db, clock),
    audit,
    events,
    webhooks: new WebhookService(db, clock, ids, secretBox, audit, config.webhookAllowPrivateTargets),
    apiKeys: new ApiKeyService(db, clock, ids, audit),
    organizations: new OrganizationService(db, clock, ids, audit),
    users: new UserService(db),
    connections,
    membershipSync,
    scimLifecycle: new ScimFlagListener(flagWriter, audit, ids, scimGrantsThroughRules(connections, membershipSync)),
    members: new MemberService(db, clock, ids, audit, events, config.maxOrganizationsPerUser),
    reports: new ReportService(db, clock),
    reconcile: new ReconcileService(db, clock, ids, flagWriter),
    // PUBLIC_URL is read when used: tests point it at their ephemeral port after wiring.
    directories: new DirectoryService(db, clock, ids, audit, () => container.config.publicUrl),
    close: () => db.destroy(),
  };
  return container;
}
