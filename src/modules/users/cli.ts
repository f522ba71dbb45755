import type { Command } from 'commander';
import type { Container } from '../../container.js';
import { inTransaction } from '../../platform/transaction.js';
import type { Actor } from '../audit/types.js';
import { detachAccount, findTrustViolations, type DetachResult } from './account-trust.js';

/**
 * `orgsync accounts check [--fix]`: accounts a connection reached by an email in a domain it has not
 * verified (written before the trust rule, or left when a domain changed hands). Read-only unless
 * `--fix`, which binds or splits each one as migration 257 did, and audits it as `user.detached`.
 */
export function accountCommands(program: Command, deps: { withContainer: <T>(fn: (c: Container) => Promise<T>) => Promise<T>; actor: () => Actor }): void {
  const accounts = program.command('accounts').description('check accounts against the trust rule between connections');
  accounts
    .command('check')
    .description('list accounts reached by a connection that does not own their email domain; --fix binds or splits them (never merges)')
    .option('--fix', 'bind each account to its only connection, or split it per connection')
    .option('--json', 'print JSON')
    .action(async (opts: { fix?: boolean; json?: boolean }) =>
      deps.withContainer(async (c) => {
        const findings = await findTrustViolations(c.db);
        const fixed: DetachResult[] = [];
        if (opts.fix) {
          for (const f of findings) {
            const result = await inTransaction(c.db, async (trx) => {
              const r = await detachAccount(trx, f, c.clock.now().toISOString(), () => c.ids.uuid());
              await c.audit.record(trx, { action: 'user.detached', actor: deps.actor(), targetUserId: f.user_id, detail: { reason: 'email_domain_not_verified_by_connection', email: f.email, domain_owner: f.domain_owner, ...r } });
              return r;
            });
            fixed.push(result);
          }
        }
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ findings, fixed }, null, 2)}\n`);
          return;
        }
        const lines = findings.map((f) => `  ${f.user_id}  ${f.email}  owner ${f.domain_owner ?? '(none)'}  reached by ${f.connections.join(', ')}  → ${f.action}`);
        const head = findings.length === 0 ? 'no accounts break the trust rule' : `${findings.length} account(s) reached by a connection that does not own their email domain`;
        const tail = opts.fix ? `\nfixed ${fixed.length}: ${fixed.reduce((n, r) => n + r.split.length, 0)} new account(s), ${fixed.filter((r) => r.bound_to).length} bound` : findings.length ? '\nrun with --fix to bind or split them' : '';
        process.stdout.write(`${head}\n${lines.join('\n')}${lines.length ? '\n' : ''}${tail.trimStart() ? `${tail.trimStart()}\n` : ''}`);
      }),
    );
}
