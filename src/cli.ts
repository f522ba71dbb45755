import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createContainer, type Container } from './container.js';
import { createDb, migrateDown, migrateLatest } from './platform/db.js';
import { createLogger } from './platform/logger.js';
import { serveUntilSignalled } from './server.js';
import { ALL_SCOPES, isScope } from './http/scopes.js';
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

/** A CLI failure: printed as one line, exit code 1. */
class CliError extends Error {}

const cliActor = (): Actor => ({ type: 'cli', id: osInfo.username() });

const print = (value: unknown, json: boolean | undefined, table?: () => string) => {
  process.stdout.write(json || !table ? `${JSON.stringify(value, null, 2)}\n` : `${table()}\n`);
};

async function withContainer<T>(fn: (c: Container) => Promise<T>): Promise<T> {
  const config = loadConfig();
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
      const db = createDb(config.databaseUrl);
      try {
        if (opts.down) await migrateDown(db, opts.all);
        else await migrateLatest(db);
        const [done, pending] = (await db.migrate.list({ migrationSource: (await import('../migrations/index.js')).migrationSource })) as [
          Array<{ name: string } | string>,
          unknown[],
        ];
        process.stdout.write(`migrations applied: ${done.length}, pending: ${pending.length}\n`);
      } finally {
        await db.destroy();
      }
    });

  const apiKey = program.command('api-key').description('manage API keys');
  apiKey
    .command('create')
    .description('create an API key; the key is printed once')
    .requiredOption('--name <name>', 'a name to recognise the key by')
    .option('--scopes <scopes>', `comma-separated scopes or "all" (${ALL_SCOPES.join(', ')})`, 'all')
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; scopes: string; json?: boolean }) => {
      const scopes = opts.scopes === 'all' ? [...ALL_SCOPES] : opts.scopes.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = scopes.filter((s) => !isScope(s));
      if (bad.length) throw new CliError(`unknown scope(s): ${bad.join(', ')}`);
      await withContainer(async (c) => {
        const key = await c.apiKeys.create({ name: opts.name, scopes: scopes.filter(isScope) }, cliActor());
        print(key, opts.json, () => `${key.key}\n(id ${key.id}; shown only now, store it safely)`);
      });
    });
  apiKey
    .command('revoke <id>')
    .description('revoke an API key')
    .action(async (id: string) => withContainer((c) => c.apiKeys.revoke(id, cliActor())));

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
        print(created, opts.json, () => `${created.id}  ${created.name}`);
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
  directoryCommands(program, { withContainer, actor: cliActor });
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
