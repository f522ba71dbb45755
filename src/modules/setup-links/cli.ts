import { Option, type Command } from 'commander';
import type { Container } from '../../container.js';
import type { Actor } from '../audit/types.js';
import { createSetupLinkBody } from './schema.js';

interface Deps {
  withContainer: <T>(fn: (c: Container) => Promise<T>) => Promise<T>;
  actor: () => Actor;
  fail: (message: string) => Error;
}

/** `orgsync setup-link create|list|revoke`: the same operations as the API, for operators on the host. */
export function setupLinkCommands(program: Command, deps: Deps): void {
  const link = program.command('setup-link').description("manage setup links (the customer's IT admin configures SSO or a directory)");
  link
    .command('create')
    .description('create a setup link for an organization; prints its URL once')
    .requiredOption('--org <name>', 'organization id or name')
    .addOption(new Option('--intents <list>', 'comma-separated: sso, directory').default('sso'))
    .option('--expires-in <seconds>', 'lifetime in seconds (default 7 days)')
    .option('--json', 'print JSON')
    .action(async (opts: { org: string; intents: string; expiresIn?: string; json?: boolean }) => {
      const parsed = createSetupLinkBody.safeParse({ intents: opts.intents.split(',').map((s) => s.trim()).filter(Boolean), expires_in: opts.expiresIn === undefined ? undefined : Number(opts.expiresIn) });
      if (!parsed.success) throw deps.fail(`invalid setup link: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
      await deps.withContainer(async (c) => {
        const created = await c.setupLinks.create(opts.org, parsed.data, deps.actor());
        process.stdout.write(opts.json ? `${JSON.stringify(created, null, 2)}\n` : `${created.url}\n(setup link ${created.id}, ${created.intents.join('+')}, expires ${created.expires_at}; the URL is shown only now)\n`);
      });
    });
  link
    .command('list')
    .description("list an organization's setup links")
    .requiredOption('--org <name>', 'organization id or name')
    .option('--json', 'print JSON')
    .action(async (opts: { org: string; json?: boolean }) =>
      deps.withContainer(async (c) => {
        const page = await c.setupLinks.list(opts.org, 1000);
        process.stdout.write(
          opts.json ? `${JSON.stringify(page.items, null, 2)}\n` : `${page.items.map((l) => `${l.id}  ${l.status.padEnd(8)} ${l.intents.join('+').padEnd(13)} expires ${l.expires_at}`).join('\n') || '(no setup links)'}\n`,
        );
      }),
    );
  link
    .command('revoke <id>')
    .description('revoke a setup link')
    .requiredOption('--org <name>', 'organization id or name')
    .action(async (id: string, opts: { org: string }) => deps.withContainer((c) => c.setupLinks.revoke(opts.org, id, deps.actor())));
}
