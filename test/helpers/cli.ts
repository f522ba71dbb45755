import { runCli } from '../../src/cli.js';
import type { Ran } from './process.js';

let turn: Promise<unknown> = Promise.resolve();

/**
 * Runs the `orgsync` command in this process: the same commander program, container and services as
 * `bin/orgsync.js`, with `env` as its environment and what it writes to stdout and stderr captured,
 * and its exit code. For tests about what a command does; a test about the process itself (the bin
 * file, a server and the CLI as two processes) spawns it with runCli from process.ts. Runs one at a
 * time, since it borrows process-wide state (environment, output streams, exit code).
 */
export function runCliHere(args: string[], env: Record<string, string>): Promise<Ran> {
  const run = turn.then(() => runNow(args, env));
  turn = run.catch(() => undefined);
  return run;
}

async function runNow(args: string[], env: Record<string, string>): Promise<Ran> {
  const savedEnv = { ...process.env };
  const write = { out: process.stdout.write, err: process.stderr.write };
  let stdout = '';
  let stderr = '';
  const capture = (append: (s: string) => void) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }) as typeof process.stdout.write;
  Object.assign(process.env, { LOG_LEVEL: 'warn', ...env });
  process.stdout.write = capture((s) => (stdout += s));
  process.stderr.write = capture((s) => (stderr += s));
  process.exitCode = undefined;
  try {
    await runCli([process.execPath, 'orgsync', ...args]);
    return { code: typeof process.exitCode === 'number' ? process.exitCode : 0, stdout, stderr };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.exitCode = undefined;
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
  }
}
