import type { Command } from 'commander';
import type { Container } from '../../container.js';
import type { Actor } from '../audit/types.js';

/** `orgsync directory create --connection ID|NAME`: prints the SCIM base URL and the token, once. */
export function directoryCommands(
  program: Command,
  deps: { withContainer: <T>(fn: (c: Container) => Promise<T>) => Promise<T>; actor: () => Actor; fail: (message: string) => Error },
): void {
  const directory = program.command('directory').description('manage SCIM directories');
  directory
    .command('create')
    .description("create a connection's SCIM directory; prints its SCIM base URL and token once")
    .requiredOption('--connection <id or name>', 'the connection the directory belongs to')
    .option('--name <name>', 'a name (defaults to the connection name)')
    .option('--json', 'print JSON')
    .action(async (opts: { connection: string; name?: string; json?: boolean }) =>
      deps.withContainer(async (c) => {
        const connection = await c.connections.load(c.db, opts.connection);
        if (!connection) throw deps.fail(`no connection with the id or name "${opts.connection}"`);
        const created = await c.directories.create({ connection_id: connection.id, name: opts.name }, deps.actor());
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(created, null, 2)}\n`
            : `created SCIM directory "${created.name}" for connection ${connection.name} (directory ${created.id})\n` +
                `SCIM base URL: ${created.scim_base_url}\nToken:        ${created.token}\n(the token is shown only now, store it safely)\n`,
        );
      }),
    );
  directory
    .command('sync')
    .description('sync a Google Workspace or Microsoft Graph directory now and print how the run ended')
    .requiredOption('--directory <id>', 'the directory to sync')
    .option('--json', 'print JSON')
    .action(async (opts: { directory: string; json?: boolean }) =>
      deps.withContainer(async (c) => {
        const { run_id, outcome } = await c.pullDirectories.syncNow(opts.directory, true);
        if (opts.json) process.stdout.write(`${JSON.stringify({ run_id, ...outcome }, null, 2)}\n`);
        else if (outcome?.kind === 'succeeded') process.stdout.write(`Sync ${run_id} succeeded: ${outcome.requests} requests; ${JSON.stringify(outcome.counts)}\n`);
        if (outcome?.kind === 'failed') throw new Error(`sync ${run_id} failed: ${outcome.error}`);
      }),
    );
}
