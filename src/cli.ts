import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createContainer, type Container } from './container.js';
import { createDb, migrateDown, migrateLatest } from './platform/db.js';
import { createLogger } from './platform/logger.js';
import { serveUntilSignalled } from './server.js';
import { isAppError } from './platform/errors.js';
import type { Actor } from './modules/audit/types.js';
import { organizationName } from './modules/organizations/schema.js';
import { os as osInfo } from './platform/os.js';
import { connectionCommands } from './modules/connections/cli.js';
import { reportCommands } from './modules/reports/cli.js';
import { memberCommands } from './modules/members/cli.js';
import { directoryCommands } from './modules/directories/cli.js';
import { accountCommands } from './modules/users/cli.js';
import { setupLinkCommands } from './modules/setup-links/cli.js';
import { apiKeyCommands } from './modules/api-keys/cli.js';
import { ensureSqliteFolder } from './platform/database-url.js';

/** A CLI failure: printed as one line, exit code 1. */
class CliError extends Error {}

const cliActor = (): Actor => ({ type: 'cli', id: osInfo.username() });

const print = (value: unknown, json: boolean | undefined, table?: () => string) => {
  process.stdout.write(json || !table ? `${JSON.stringify(value, null, 2)}\n` : `${table()}\n`);
};

/** A SQLite URL into a missing folder creates it: say so, a typo should not go unnoticed. */
function prepareDatabase(config: Config): void {
  const created = ensureSqliteFolder(config.databaseUrl);
  if (created) process.stderr.write(`orgsync: created the folder ${created} for the SQLite database (DATABASE_URL=${config.databaseUrl})\n`);
}

async function withContainer<T>(fn: (c: Container) => Promise<T>): Promise<T> {
  const config = loadConfig();
  prepareDatabase(config);
  const c = await createContainer({ config, logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel), migrate: true });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

export function buildCli(): Command {
  const program = new Command('orgsync')
    .description('Self-hosted SSO identity sync: SCIM 2.0, SAML/OIDC login sync, flagged-member reports')
    .showHelpAfterError();

  program
    .command('serve')
    .description('start the server (same as npm start)')
    .action(async () => serveUntilSignalled(loadConfig()));

  program
    .command('migrate')
    .description('apply pending database migrations, or roll back the last one with --down')
    .option('--down', 'roll back the most recent migration')
    .option('--all', 'with --down: roll back every migration')
    .action(async (opts: { down?: boolean; all?: boolean }) => {
      const config: Config = loadConfig();
      prepareDatabase(config);
      const db = createDb(config.databaseUrl);
      try {
        const source = { migrationSource: (await import('../migrations/index.js')).migrationSource };
        const applied = async () => ((await db.migrate.list(source)) as [Array<{ name: string } | string>, unknown[]])[0].map((m) => (typeof m === 'string' ? m : m.name));
        const before = await applied();
        if (opts.down) await migrateDown(db, opts.all);
        else await migrateLatest(db);
        const after = await applied();
        const [, pending] = (await db.migrate.list(source)) as [unknown[], unknown[]];
        const added = after.filter((m) => !before.includes(m));
        const removed = before.filter((m) => !after.includes(m));
        const what = added.length
          ? `applied ${added.length === 1 ? `migration ${added[0]}` : `${added.length} migrations (${added[0]} … ${added.at(-1)})`}`
          : removed.length
            ? `rolled back ${removed.length === 1 ? `migration ${removed[0]}` : `${removed.length} migrations`}`
            : 'nothing to do: the database is up to date';
        process.stdout.write(`${what} (migrations applied: ${after.length}, pending: ${pending.length})\n`);
      } finally {
        await db.destroy();
      }
    });

  apiKeyCommands(program, { withContainer, actor: cliActor, fail: (m) => new CliError(m) });

  const org = program.command('org').description('manage organizations');
  org
    .command('create <name>')
    .description('create an organization (name is a lowercase slug)')
    .option('--display-name <text>', 'human-readable name')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { displayName?: string; json?: boolean }) => {
      const parsed = organizationName.safeParse(name);
      if (!parsed.success) throw new CliError(`invalid organization name "${name}": ${parsed.error.issues[0]?.message}`);
      await withContainer(async (c) => {
        const created = await c.organizations.create({ name: parsed.data, display_name: opts.displayName }, cliActor());
        print(created, opts.json, () => `created organization ${created.name} ("${created.display_name}"), id ${created.id}`);
      });
    });
  org
    .command('list')
    .description('list organizations')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (opts: { format: string }) =>
      withContainer(async (c) => {
        const all: Awaited<ReturnType<typeof c.organizations.list>>['items'] = [];
        let from: string | undefined;
        do {
          const page = await c.organizations.list(1000, from);
          all.push(...page.items);
          from = page.items.at(-1)?.id;
          if (!page.next) break;
        } while (from);
        print(all, opts.format === 'json', () =>
          all.map((o) => `${o.id}  ${o.name.padEnd(24)} ${o.sso.enabled ? 'sso' : '   '}  ${o.display_name}`).join('\n') || '(no organizations)',
        );
      }),
    );
  program
    .command('demo')
    .description('FOR DEMONSTRATION ONLY: start orgsync on a fresh SQLite file with a built-in demo IdP (SAML, OpenID Connect, SCIM) on loopback')
    .option('--port <port>', "orgsync's port", '3000')
    .option('--idp-port <port>', "the demo IdP's port", '3001')
    .option('--data-dir <dir>', 'where the fresh demo database file goes', './data')
    .option('--log-level <level>', 'server log level', 'warn')
    // Loaded only when asked for: the demo and its development dependencies never load otherwise.
    .action(async (opts: { port: string; idpPort: string; dataDir: string; logLevel: string }) => (await import('./demo/command.js')).runDemoCommand(opts, loadConfig()));
  connectionCommands(program, { withContainer, actor: cliActor, fail: (m) => new CliError(m) });
  reportCommands(program, { withContainer });
  memberCommands(program, { withContainer, actor: cliActor, fail: (m) => new CliError(m) });
  directoryCommands(program, { withContainer, actor: cliActor, fail: (m) => new CliError(m) });
  accountCommands(program, { withContainer, actor: cliActor });
  setupLinkCommands(program, { withContainer, actor: cliActor, fail: (m) => new CliError(m) });
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    const message =
      err instanceof CliError || err instanceof ConfigError || isAppError(err) ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(`orgsync: ${message.split('\n')[0]}\n`);
    process.exitCode = 1;
  }
}
