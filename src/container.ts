import type { Config } from './config/index.js';
import { createDb, migrateLatest, type Db } from './platform/db.js';
import { systemClock, type Clock } from './platform/clock.js';
import { defaultIds, type IdGenerator } from './platform/ids.js';
import { createLogger, type Logger } from './platform/logger.js';
import { SecretBox } from './platform/crypto.js';
import { resolveSecret } from './platform/settings.js';
import { BatchedRateLimiter, RateLimiter } from './http/rate-limit.js';
import { AuditService } from './modules/audit/service.js';
import { ApiKeyService } from './modules/api-keys/service.js';
import { OrganizationService } from './modules/organizations/service.js';
import { UserService } from './modules/users/service.js';
import { EventService } from './modules/events/service.js';
import { ConnectionService } from './modules/connections/service.js';
import { SamlMetadataRefresher } from './modules/connections/metadata-refresh.js';
import { SpKeyService } from './modules/connections/sp-key-service.js';
import type { KeyPairSource } from './modules/connections/sp-keys.js';
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
import { PullDirectoryService } from './modules/pull-directories/service.js';
import { SetupLinkService } from './modules/setup-links/service.js';
import { DomainProofService } from './modules/setup-links/domain-proofs.js';
import { DnsProver } from './modules/setup-links/dns-proof.js';
import { SetupFlow } from './modules/setup-links/setup-flow.js';
import { SetupTestRecorder } from './modules/setup-links/test-sign-in.js';

export interface ContainerOptions {
  config: Config;
  db?: Db;
  clock?: Clock;
  ids?: IdGenerator;
  logger?: Logger;
  /** RSA key pairs for connections' own keys (tests hand out pairs made once; see test/helpers/key-pairs.ts). */
  keyPairs?: KeyPairSource;
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
  /** RATE_LIMIT_ANONYMOUS_PER_MINUTE, counted in batches: one budget per client across the SSO, admin and setup-link routes. */
  anonymousLimiter: BatchedRateLimiter;
  audit: AuditService;
  events: EventService;
  webhooks: WebhookService;
  apiKeys: ApiKeyService;
  organizations: OrganizationService;
  users: UserService;
  connections: ConnectionService;
  /** SAML metadata URLs: refresh now (API, admin page, CLI) and on the server's schedule. */
  samlMetadata: SamlMetadataRefresher;
  /** Each connection's own keys: SAML request signing and assertion decryption, OIDC private_key_jwt. */
  spKeys: SpKeyService;
  /** Membership rules → memberships for one user; see MembershipSyncService.syncUser. */
  membershipSync: MembershipSyncService;
  /** Called by SCIM writes inside their transaction: flags and restores memberships. */
  scimLifecycle: ScimLifecycleListener;
  members: MemberService;
  reports: ReportService;
  reconcile: ReconcileService;
  directories: DirectoryService;
  /** Google Workspace and Microsoft Graph directories: settings and "sync now". */
  pullDirectories: PullDirectoryService;
  setupLinks: SetupLinkService;
  domainProofs: DomainProofService;
  /** What a setup link's pages do. */
  setupFlow: SetupFlow;
  /** Sign-ins through connections in `setup` (test sign-ins). */
  setupTests: SetupTestRecorder;
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
  const organizations = new OrganizationService(db, clock, ids, audit);
  // PUBLIC_URL is read late: tests point it at their ephemeral port after wiring.
  const publicUrl = () => container.config.publicUrl;
  // Read late too: tests allow loopback targets after wiring.
  const metadataSettings = () => ({ allowPrivateTargets: container.config.webhookAllowPrivateTargets, refreshSeconds: container.config.samlMetadataRefreshSeconds });
  const spKeys = new SpKeyService(db, clock, ids, audit, secretBox, opts.keyPairs);
  const connections = new ConnectionService(db, clock, ids, audit, secretBox, publicUrl, spKeys, metadataSettings);
  const directories = new DirectoryService(db, clock, ids, audit, publicUrl);
  const membershipSync = new MembershipSyncService(db, clock, ids, audit, events, config.maxOrganizationsPerUser);
  const setupLinks = new SetupLinkService(db, clock, ids, audit, organizations, publicUrl);
  const domainProofs = new DomainProofService(db, clock, ids, new DnsProver(config.dnsResolvers));
  const rateLimiter = new RateLimiter(db, clock);
  const container: Container = {
    config,
    db,
    clock,
    ids,
    logger,
    secretBox,
    rateLimiter,
    anonymousLimiter: new BatchedRateLimiter(rateLimiter, clock, config.rateLimitAnonymousPerMinute),
    audit,
    events,
    webhooks: new WebhookService(db, clock, ids, secretBox, audit, config.webhookAllowPrivateTargets),
    apiKeys: new ApiKeyService(db, clock, ids, audit),
    organizations,
    users: new UserService(db),
    connections,
    samlMetadata: new SamlMetadataRefresher(db, clock, audit, connections, metadataSettings, `instance-${ids.uuid()}`),
    spKeys,
    membershipSync,
    scimLifecycle: new ScimFlagListener(flagWriter, audit, ids, scimGrantsThroughRules(connections, membershipSync)),
    members: new MemberService(db, clock, ids, audit, events, config.maxOrganizationsPerUser),
    reports: new ReportService(db, clock),
    reconcile: new ReconcileService(db, clock, ids, flagWriter),
    directories,
    pullDirectories: undefined as unknown as PullDirectoryService,
    setupLinks,
    domainProofs,
    setupFlow: new SetupFlow(db, clock, ids, audit, setupLinks, organizations, connections, directories, domainProofs, () => ({
      publicUrl: container.config.publicUrl,
      allowPrivateTargets: container.config.webhookAllowPrivateTargets,
    })),
    setupTests: new SetupTestRecorder(db, clock, audit, membershipSync),
    close: () => db.destroy(),
  };
  // Needs the finished container (runs write through SCIM lifecycle, audit and events).
  container.pullDirectories = new PullDirectoryService(container, `instance-${ids.uuid()}`);
  return container;
}
