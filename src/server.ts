import { createServer, type Server } from 'node:http';
import type { Config } from './config/index.js';
import { createContainer, type Container } from './container.js';
import { createApp } from './app.js';
import type { Logger } from './platform/logger.js';
import { AutoRemoveJob } from './modules/flags/auto-remove.js';
import { WebhookWorker } from './modules/webhooks/worker.js';
import { PullScheduler } from './modules/pull-directories/scheduler.js';
import { MetadataRefreshScheduler } from './modules/connections/metadata-scheduler.js';
import { TableStatisticsJob } from './platform/table-statistics.js';
import { describeDatabase, ensureSqliteFolder } from './platform/database-url.js';
import { dialectOf } from './platform/db.js';

export interface RunningServer {
  container: Container;
  server: Server;
  url: string;
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  stop(): Promise<void>;
}

export interface ServerLimits {
  /** A client must finish sending headers within this time (slowloris). */
  headersTimeoutMs: number;
  /** And the whole request within this. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** How often Node checks the two timeouts above. */
  checkIntervalMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = { headersTimeoutMs: 20_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, checkIntervalMs: 2_000 };

/** Where start-up messages meant for the person at the terminal go: stderr, whatever LOG_LEVEL says. */
export type Notice = (text: string) => void;
const toStderr: Notice = (text) => void process.stderr.write(text);

const firstKeyNotice = (key: string, publicUrl: string, database: string): string =>
  ['', `Created the first admin API key (shown only now): ${key}`, `  Admin page: ${publicUrl}/admin  (sign in with the key above)`, `  Database:   ${database}`, '', ''].join('\n');

/** Migrates, bootstraps the first API key, starts background jobs and listens. */
export async function startServer(config: Config, logger?: Logger, limits: ServerLimits = DEFAULT_LIMITS, notice: Notice = toStderr): Promise<RunningServer> {
  const createdFolder = ensureSqliteFolder(config.databaseUrl);
  if (createdFolder) notice(`orgsync: created the folder ${createdFolder} for the SQLite database (DATABASE_URL=${config.databaseUrl})\n`);
  const container = await createContainer({ config, logger, migrate: true });
  const log = container.logger;
  const boot = await container.apiKeys.bootstrap(config.bootstrapApiKey);
  const app = createApp(container);
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    app,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (err) {
    // Only its hash is stored: a key created by a start that cannot listen is shown now or never.
    if (boot?.generated) notice(firstKeyNotice(boot.key, config.publicUrl, describeDatabase(config.databaseUrl)));
    await container.close();
    throw err;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  // PORT=0: the URLs built from PUBLIC_URL (SP settings, SCIM base URLs, the admin link) use the real port.
  if (config.publicUrlFromPort && port !== config.port) container.config = { ...container.config, port, publicUrl: `http://localhost:${port}` };
  const publicUrl = container.config.publicUrl;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  const database = describeDatabase(config.databaseUrl);
  log.info({ url, public_url: publicUrl, database }, 'orgsync listening');
  if (boot?.generated) {
    // Logs travel further than a terminal: the key is printed, never logged.
    log.warn({ admin_page: `${publicUrl}/admin` }, 'Created the first admin API key; it was printed to stderr once');
    notice(firstKeyNotice(boot.key, publicUrl, database));
  } else if (boot) {
    log.info('Created the bootstrap API key from ORGSYNC_BOOTSTRAP_API_KEY');
  }
  // Background jobs start here, never in the container: tests and the CLI build containers too.
  const autoRemove = new AutoRemoveJob(container, `instance-${container.ids.uuid()}`);
  autoRemove.start();
  // Webhook delivery and event retention run in every server process; leases and row locks in the
  // database keep instances from doing the same work twice.
  const worker = new WebhookWorker(container);
  worker.start();
  // Google Workspace and Microsoft Graph directories, each on its own schedule under a lease.
  const pulls = new PullScheduler(container, container.pullDirectories.runner);
  pulls.start();
  // SAML connections created from a metadata URL: refreshed every SAML_METADATA_REFRESH_SECONDS, under a lease.
  const metadata = new MetadataRefreshScheduler(container.db, container.clock, log, container.samlMetadata);
  metadata.start();
  // PostgreSQL: statistics for the tables an initial sync grows, sooner than autovacuum's minute.
  const statistics = new TableStatisticsJob(container.db, log);
  if (dialectOf(container.db) === 'pg') statistics.start();
  return {
    container,
    server,
    url,
    stop: async () => {
      // Requests drain while in-flight deliveries are cancelled (they go back to the queue).
      await Promise.all([
        worker.stop(),
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        }),
      ]);
      await autoRemove.stop();
      await pulls.stop();
      await metadata.stop();
      await statistics.stop();
      await container.close();
    },
  };
}

/**
 * `npm start` and `orgsync serve`: start, then on SIGTERM/SIGINT drain in-flight requests and exit 0.
 * The handlers are installed before start-up, so a signal that arrives while migrating still ends
 * the process cleanly once it is up.
 */
export async function serveUntilSignalled(config: Config): Promise<void> {
  let running: RunningServer | undefined;
  let requested: string | undefined;
  const shutdown = (signal: string) => {
    if (!running) {
      requested ??= signal;
      return;
    }
    const current = running;
    running = undefined;
    current.container.logger.info({ signal }, 'shutting down: draining in-flight requests');
    current.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        current.container.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  running = await startServer(config);
  if (requested) shutdown(requested);
}
