import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';

export const ROOT = resolve(import.meta.dirname, '../..');
/**
 * `node --import tsx src/main.ts`: the server is this very process (the tsx CLI would run it as a
 * grandchild that survives a SIGKILL of its parent).
 */
export const MAIN_ARGS = ['--import', 'tsx', join(ROOT, 'src/main.ts')];

export const tempDir = (prefix = 'orgsync-') => mkdtempSync(join(tmpdir(), prefix));

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `orgsync` bin as a user would. */
export function runCli(args: string[], env: Record<string, string>): Promise<Ran> {
  return run(process.execPath, [join(ROOT, 'bin/orgsync.js'), ...args], env);
}

export function run(cmd: string, args: string[], env: Record<string, string>, input?: string): Promise<Ran> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
}

/**
 * Starts `src/main.ts` (what `npm start` runs) and waits until it answers /healthz. When its log level
 * lets it announce itself, it also waits for its own "listening" line, so a server of another test
 * that took the port in between is never mistaken for this one; a lost port race starts over.
 */
export async function startMain(env: Record<string, string>, attempt = 1): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  // A caller that needs the port up front (PUBLIC_URL of several instances) passes PORT itself.
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, MAIN_ARGS, {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: 'pipe',
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const level = env.LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';
  const announces = ['info', 'debug', 'trace'].includes(level);
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (/EADDRINUSE/.test(out) && !env.PORT && attempt < 3) return startMain(env, attempt + 1);
      throw new Error(`server exited early:\n${out}`);
    }
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok && (!announces || out.includes(`"url":"${url}"`))) return { child, url, output: () => out };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start:\n${out}`);
}

export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  return new Promise((res) => {
    // A process killed by a signal has exitCode null and signalCode set: it is gone all the same.
    if (child.exitCode !== null || child.signalCode !== null) return res(child.exitCode);
    child.once('exit', (code) => res(code));
    child.kill(signal);
  });
}
