import type { Command } from 'commander';
import type { Container } from '../../container.js';
import type { Actor } from '../audit/types.js';
import { ALL_SCOPES, isScope } from '../../http/scopes.js';
import type { ApiKey } from './service.js';

interface Deps {
  withContainer: <T>(fn: (c: Container) => Promise<T>) => Promise<T>;
  actor: () => Actor;
  fail: (message: string) => Error;
}

const scopesText = (scopes: readonly string[]) => (ALL_SCOPES.every((s) => scopes.includes(s)) ? 'all' : scopes.join(','));

function table(keys: ApiKey[]): string {
  if (keys.length === 0) return '(no API keys)';
  const rows = keys.map((k) => [k.id, k.name, `${k.prefix}…`, k.revoked_at ? `revoked ${k.revoked_at}` : k.last_used_at ? `used ${k.last_used_at}` : 'never used', scopesText(k.scopes)]);
  const head = ['ID', 'NAME', 'PREFIX', 'STATE', 'SCOPES'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** `orgsync api-key create | list | revoke`: keys are shown once, listed by id, name and prefix. */
export function apiKeyCommands(program: Command, deps: Deps): void {
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
      if (bad.length) throw deps.fail(`unknown ${bad.length === 1 ? 'scope' : 'scopes'}: ${bad.join(', ')}`);
      await deps.withContainer(async (c) => {
        const key = await c.apiKeys.create({ name: opts.name, scopes: scopes.filter(isScope) }, deps.actor());
        process.stdout.write(
          opts.json ? `${JSON.stringify(key, null, 2)}\n` : `${key.key}\n(created API key "${key.name}", id ${key.id}, scopes ${scopesText(key.scopes)}; shown only now, store it safely)\n`,
        );
      });
    });
  apiKey
    .command('list')
    .description('list API keys (never the keys themselves): id, name, prefix, last use or revocation, scopes')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) =>
      deps.withContainer(async (c) => {
        const all: ApiKey[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await c.apiKeys.list(1000, after);
          all.push(...page.items);
          if (!page.next || page.items.length === 0) break;
          after = page.items.at(-1)!.id;
        }
        process.stdout.write(opts.json ? `${JSON.stringify(all, null, 2)}\n` : `${table(all)}\n`);
      }),
    );
  apiKey
    .command('revoke <id>')
    .description('revoke an API key (by its id, as `api-key list` shows it)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) =>
      deps.withContainer(async (c) => {
        const key = await c.apiKeys.findActive(id);
        await c.apiKeys.revoke(id, deps.actor());
        process.stdout.write(opts.json ? `${JSON.stringify({ revoked: id, name: key?.name ?? null })}\n` : `revoked API key "${key?.name ?? ''}" (id ${id}); it stops working at once\n`);
      }),
    );
}
