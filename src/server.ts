import type { Server } from 'node:http';
import type { Config } from './config/index.js';
import { createContainer, type Container } from './container.js';
import { createApp } from './app.js';
import type { Logger } from './platform/logger.js';

export interface RunningServer {
  container: Container;
  server: Server;
  url: string;
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  stop(): Promise<void>;
}

/** Migrates, bootstraps the first API key, and listens. Shared by `npm start` and `orgsync serve`. */
export async function startServer(config: Config, logger?: Logger): Promise<RunningServer> {
  const container = await createContainer({ config, logger, migrate: true });
  const log = container.logger;
  const boot = await container.apiKeys.bootstrap(config.bootstrapApiKey);
  if (boot?.generated) {
    // Printed once: only the hash is stored.
    log.warn(
      { admin_page: `${config.publicUrl}/admin` },
      `Created the first admin API key (shown only now): ${boot.key}  Open ${config.publicUrl}/admin and sign in with it.`,
    );
  } else if (boot) {
    log.info('Created the bootstrap API key from ORGSYNC_BOOTSTRAP_API_KEY');
  }
  const app = createApp(container);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  log.info({ url, public_url: config.publicUrl }, 'orgsync listening');
  return {
    container,
    server,
    url,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await container.close();
    },
  };
}
