import { ConfigError, loadConfig } from './config/index.js';
import { serveUntilSignalled } from './server.js';

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
  await serveUntilSignalled(config);
}

main().catch((err: unknown) => {
  process.stderr.write(`orgsync failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
