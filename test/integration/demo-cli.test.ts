import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, ROOT, tempDir } from '../helpers/process.js';

/** `orgsync demo` as a newcomer runs it: a child process that prints where to click and stops on Ctrl+C. */
describe('orgsync demo (the command)', () => {
  it('starts the server and the demo IdP, prints the tour with a working key, and stops on SIGINT', async () => {
    const [port, idpPort] = [await freePort(), await freePort()];
    const dataDir = tempDir('orgsync-demo-cli-');
    const child = spawn(process.execPath, [join(ROOT, 'bin/orgsync.js'), 'demo', '--port', String(port), '--idp-port', String(idpPort), '--data-dir', dataDir], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: 'pipe',
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const deadline = Date.now() + 45_000;
    while (!out.includes('Press Ctrl+C') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    try {
      expect(out).toContain('FOR DEMONSTRATION ONLY');
      expect(out).not.toContain('oidc-provider WARNING');
      const key = /admin API key\s+(osk_\S+)/.exec(out)?.[1];
      const file = /database: (\S+\.sqlite)/.exec(out)?.[1];
      expect(key).toBeDefined();
      expect(file && file.startsWith(dataDir) && existsSync(file)).toBe(true);
      const orgs = await fetch(`http://127.0.0.1:${port}/api/v1/organizations`, { headers: { authorization: `Bearer ${key}` } });
      expect(((await orgs.json()) as { organizations: unknown[] }).organizations).toHaveLength(3);
      const console = await fetch(`http://127.0.0.1:${idpPort}/`);
      expect(await console.text()).toContain('Demo identity provider — for demonstration only.');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 60_000);

  it('refuses a bad port with a one-line message', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/orgsync.js'), 'demo', '--port', 'eighty'], { cwd: ROOT, stdio: 'pipe' });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(err).toContain('orgsync: --port must be a port number (got "eighty")');
  }, 30_000);
});
