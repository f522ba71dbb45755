/**
 * A second process writing the same database the way the CLI does (the same container and services),
 * for `WRITER_MS` milliseconds after it printed `ready`: creates organizations and renames each once.
 * Prints one JSON line: `{ written: [names], errors: [messages] }`. Run with `node --import tsx`.
 */
import { loadConfig } from '../../src/config/index.js';
import { createContainer } from '../../src/container.js';
import { createLogger } from '../../src/platform/logger.js';

const config = loadConfig({ DATABASE_URL: process.env.DATABASE_URL!, LOG_LEVEL: 'silent', ORGSYNC_SECRET: 'test-secret-0123456789' });
const c = await createContainer({ config, logger: createLogger('silent'), migrate: false });
const actor = { type: 'cli' as const, id: 'writer' };
const written: string[] = [];
const errors: string[] = [];
process.stdout.write('ready\n');
const until = Date.now() + Number(process.env.WRITER_MS ?? 3000);
for (let i = 0; Date.now() < until; i++) {
  const name = `cli-${process.pid}-${i}`;
  try {
    const org = await c.organizations.create({ name }, actor);
    await c.organizations.update(org.id, { display_name: `${name} renamed` }, actor);
    written.push(name);
  } catch (err) {
    errors.push(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);
  }
}
await c.close();
process.stdout.write(`${JSON.stringify({ written, errors })}\n`);
