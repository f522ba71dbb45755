import { ConfigError, loadConfig } from './config/index.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  // The server's modules load only once the configuration is known to be good: a bad variable is
  // reported in a fraction of a second instead of after loading everything.
  const { serveUntilSignalled } = await import('./server.js');
  await serveUntilSignalled(config);
}

main().catch((err: unknown) => {
  process.stderr.write(`orgsync failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
