import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Container } from '../../container.js';
import type { Actor } from '../audit/types.js';
import { parseBody } from '../../http/validate.js';
import { createConnectionBody } from './schema.js';
import type { SpKeyUse, SpKeyView } from './sp-keys.js';

/** `orgsync connection create --file conn.json`: the same body as `POST /api/v1/connections`. */
export function connectionCommands(
  program: Command,
  deps: { withContainer: <T>(fn: (c: Container) => Promise<T>) => Promise<T>; actor: () => Actor; fail: (message: string) => Error },
): void {
  const connection = program.command('connection').description('manage SSO connections');
  connection
    .command('create')
    .description('create a connection from a JSON file (the POST /api/v1/connections body)')
    .requiredOption('--file <path>', 'JSON file with the connection')
    .option('--json', 'print JSON')
    .action(async (opts: { file: string; json?: boolean }) => {
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(opts.file, 'utf8'));
      } catch (err) {
        throw deps.fail(`cannot read ${opts.file}: ${(err as Error).message}`);
      }
      const body = parseBody(createConnectionBody, raw);
      await deps.withContainer(async (c) => {
        const created = await c.connections.create(body, deps.actor());
        const sp = created.sp as unknown as Record<string, string>;
        process.stdout.write(
          opts.json ? `${JSON.stringify(created, null, 2)}\n` : `created ${created.type.toUpperCase()} connection ${created.name}, id ${created.id}; give these to the identity provider:\n${Object.entries(sp).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`,
        );
      });
    });
  connection
    .command('refresh-metadata')
    .description("fetch a SAML connection's IdP metadata URL now (POST /api/v1/connections/{id}/metadata/refresh)")
    .argument('<name>', 'connection name or id')
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { json?: boolean }) => {
      await deps.withContainer(async (c) => {
        const report = await c.samlMetadata.refresh(ref, 'manual', deps.actor());
        if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        if (!report.ok) throw deps.fail(`${report.name}: ${report.error} (the last good metadata stays in use)`);
        if (!opts.json) {
          const lines = [`${report.name}: metadata refreshed${report.changed ? '' : ', nothing changed'}`];
          for (const f of report.certificates_added) lines.push(`  certificate added:   ${f}`);
          for (const f of report.certificates_removed) lines.push(`  certificate removed: ${f}`);
          if (report.sso_url_changed) lines.push('  the SSO URL changed');
          process.stdout.write(`${lines.join('\n')}\n`);
        }
      });
    });
  connection
    .command('test')
    .description("check an OIDC connection against its provider's discovery document (POST /api/v1/connections/{id}/test)")
    .argument('<name>', 'connection name or id')
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { json?: boolean }) => {
      await deps.withContainer(async (c) => {
        const report = await c.connections.test(ref);
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${report.checks.map((k) => `${k.ok ? 'ok  ' : 'FAIL'}  ${k.check}: ${k.message}`).join('\n')}\n`);
        if (!report.ok) throw deps.fail(report.reached ? `${report.name}: the OP's discovery document cannot be used as it is` : `${report.name}: the OP could not be reached`);
      });
    });
  const printKeys = (keys: SpKeyView[], json: boolean | undefined) =>
    process.stdout.write(
      json
        ? `${JSON.stringify(keys, null, 2)}\n`
        : `${keys.map((k) => `${k.use.padEnd(10)} ${k.status.padEnd(8)} ${k.fingerprint_sha256}  created ${k.created_at}${k.status === 'previous' ? `  ${k.retire_after ? `counts until ${k.retire_after}` : 'counts until retired'}` : ''}`).join('\n')}\n`,
    );
  const use = (v: string | undefined): SpKeyUse | undefined => {
    if (v === undefined) return undefined;
    if (v !== 'signing' && v !== 'encryption') throw deps.fail('--use must be signing or encryption');
    return v;
  };
  connection
    .command('keys')
    .description("list a connection's own keys (GET /api/v1/connections/{id}/sp-keys); private keys are never shown")
    .argument('<name>', 'connection name or id')
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { json?: boolean }) => {
      await deps.withContainer(async (c) => printKeys(await c.spKeys.list(await c.connections.require(c.db, ref)), opts.json));
    });
  connection
    .command('rotate-keys')
    .description('make new current keys; the previous ones stay published and decrypting until retired (POST …/sp-keys/rotate)')
    .argument('<name>', 'connection name or id')
    .option('--use <use>', 'signing or encryption (default: every key of the connection)')
    .option('--overlap-seconds <n>', 'retire the previous key on its own after this many seconds (default: only when retired)')
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { use?: string; overlapSeconds?: string; json?: boolean }) => {
      const overlap = opts.overlapSeconds === undefined ? null : Number(opts.overlapSeconds);
      if (overlap !== null && (!Number.isInteger(overlap) || overlap < 0)) throw deps.fail('--overlap-seconds must be a whole number of seconds');
      await deps.withContainer(async (c) => printKeys(await c.spKeys.rotate(await c.connections.require(c.db, ref), { use: use(opts.use), overlap_seconds: overlap }, deps.actor()), opts.json));
    });
  connection
    .command('retire-keys')
    .description('delete the previous keys left by a rotation: they leave the metadata and JWKS and stop decrypting (POST …/sp-keys/retire)')
    .argument('<name>', 'connection name or id')
    .option('--use <use>', 'signing or encryption (default: every previous key)')
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { use?: string; json?: boolean }) => {
      await deps.withContainer(async (c) => printKeys(await c.spKeys.retire(await c.connections.require(c.db, ref), { use: use(opts.use) }, deps.actor()), opts.json));
    });
}
