import type { Command } from 'commander';
import type { Container } from '../../container.js';
import type { Actor } from '../audit/types.js';
import { plural } from '../memberships/labels.js';
import { findDirectoryByConnection } from '../directories/queries.js';

/** `orgsync members remove --org NAME --flagged [--dry-run]` and `orgsync reconcile --directory ID | --connection NAME`. */
export function memberCommands(
  program: Command,
  deps: { withContainer: <T>(fn: (c: Container) => Promise<T>) => Promise<T>; actor: () => Actor; fail: (message: string) => Error },
): void {
  const members = program.command('members').description('manage organization members');
  members
    .command('remove')
    .description('remove every flagged member of an organization (accounts and other memberships are kept)')
    .requiredOption('--org <name>', 'organization name or id')
    .option('--flagged', 'remove the flagged members (required: the only bulk removal offered here)')
    .option('--dry-run', 'list who would be removed, change nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { org: string; flagged?: boolean; dryRun?: boolean; json?: boolean }) => {
      if (!opts.flagged) throw deps.fail('say which members to remove: --flagged');
      await deps.withContainer(async (c) => {
        const removed = await c.members.removeFlagged(opts.org, deps.actor(), { dryRun: opts.dryRun });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ dry_run: !!opts.dryRun, removed }, null, 2)}\n`);
          return;
        }
        const verb = opts.dryRun ? 'would remove' : 'removed';
        const lines = removed.map((m) => `  ${m.user_id}  ${m.role.padEnd(6)}  ${m.flagged_reason ?? ''}`);
        process.stdout.write(`${verb} ${plural(removed.length, 'flagged member')} from ${opts.org}\n${lines.join('\n')}${lines.length ? '\n' : ''}`);
      });
    });

  program
    .command('reconcile')
    .description("flag members of the directory's governed organizations who have no user in the directory")
    .option('--directory <id>', 'directory id')
    .option('--connection <id or name>', "or the connection whose directory it is")
    .option('--json', 'print the sync run as JSON')
    .action(async (opts: { directory?: string; connection?: string; json?: boolean }) =>
      deps.withContainer(async (c) => {
        if (!opts.directory === !opts.connection) throw deps.fail('say which directory: --directory ID or --connection NAME');
        let directoryId = opts.directory;
        if (opts.connection) {
          const connection = await c.connections.load(c.db, opts.connection);
          if (!connection) throw deps.fail(`no connection with the id or name "${opts.connection}"`);
          directoryId = (await findDirectoryByConnection(c.db, connection.id))?.id;
          if (!directoryId) throw deps.fail(`connection ${connection.name} has no SCIM directory`);
        }
        const run = await c.reconcile.reconcile(directoryId!, deps.actor());
        const lines = run.flagged.map((f) => `  ${f.user_id ?? ''}  ${f.organization_id}  ${f.reason}`);
        process.stdout.write(
          opts.json ? `${JSON.stringify(run, null, 2)}\n` : `flagged ${plural(run.flagged.length, 'membership')} not_in_directory (sync run ${run.id})\n${lines.join('\n')}${lines.length ? '\n' : ''}`,
        );
      }),
    );
}
