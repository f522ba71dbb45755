import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN_ARGS, ROOT, runCli, stopProcess, tempDir } from '../helpers/process.js';
import { runCliHere } from '../helpers/cli.js';
import { processDatabases, TEST_DATABASE_URL } from '../helpers/db.js';

/** The first start and the first CLI session, as a person at a terminal sees them. */
const cert = readFileSync(new URL('../../fixtures/saml/keys/idp-test-only.crt', import.meta.url), 'utf8');
const databases = processDatabases();
const databaseUrl = () => databases.url();
afterAll(() => databases.cleanup());

/** Starts `npm start`'s entry with PORT=0 and reads the first-start notice from stderr. */
async function startOnPortZero(env: Record<string, string>) {
  const child = spawn(process.execPath, MAIN_ARGS, { cwd: ROOT, env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env }, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 60_000;
  let port: number | undefined;
  while (!port && Date.now() < deadline && child.exitCode === null) {
    port = Number(/Admin page: http:\/\/localhost:(\d+)\/admin/.exec(stderr)?.[1]) || undefined;
    if (!port) await new Promise((r) => setTimeout(r, 100));
  }
  if (!port) {
    child.kill('SIGKILL');
    throw new Error(`no first-start notice:\n${stderr}\n${stdout}`);
  }
  return { child, port, stdout: () => stdout, stderr: () => stderr };
}

describe('first start', () => {
  it('prints the first admin key to stderr whatever LOG_LEVEL, with the admin URL on the real port and the database', async () => {
    const dir = tempDir();
    const sqlite = join(dir, 'new', 'nested', 'orgsync.sqlite');
    const DATABASE_URL = TEST_DATABASE_URL ? await databaseUrl() : `sqlite:${sqlite}`;
    const s = await startOnPortZero({ DATABASE_URL, LOG_LEVEL: 'silent' });
    try {
      const key = /Created the first admin API key \(shown only now\): (osk_\S+)/.exec(s.stderr())?.[1];
      expect(key, s.stderr()).toBeDefined();
      expect(s.stderr()).toContain(TEST_DATABASE_URL ? 'Database:   PostgreSQL postgres://' : `Database:   SQLite ${sqlite}`);
      if (!TEST_DATABASE_URL) expect(s.stderr()).toContain(`created the folder ${join(dir, 'new')} for the SQLite database`);
      // Nothing went to the log (silent), and what PUBLIC_URL builds uses the port really listened on.
      expect(s.stdout()).toBe('');
      const doc = await (await fetch(`http://127.0.0.1:${s.port}/api/v1/openapi.json`)).json();
      expect(doc.servers[0].url).toBe(`http://localhost:${s.port}/api/v1`);
      const orgs = await fetch(`http://127.0.0.1:${s.port}/api/v1/organizations`, { headers: { authorization: `Bearer ${key}` } });
      expect(orgs.status).toBe(200);
    } finally {
      await stopProcess(s.child);
    }
  });

  it('never writes the key into the JSON log', async () => {
    const s = await startOnPortZero({ DATABASE_URL: await databaseUrl(), LOG_LEVEL: 'info' });
    try {
      const key = /Created the first admin API key \(shown only now\): (osk_\S+)/.exec(s.stderr())![1]!;
      await new Promise((r) => setTimeout(r, 200));
      expect(s.stdout()).toContain('"msg":"orgsync listening"');
      expect(s.stdout()).not.toContain(key);
    } finally {
      await stopProcess(s.child);
    }
  });
});

describe('orgsync CLI, first session', () => {
  it('accepts connection names, lists API keys, and says what every change did', async () => {
    const env = { DATABASE_URL: await databaseUrl(), ORGSYNC_SECRET: 'cli-test-secret-0123456789', PUBLIC_URL: 'https://sso.example.com' };
    // The first command runs as its own process, as a person's shell would; the rest run in this
    // process (same program and container) since what they say, not how they start, is under test.
    const migrate = await runCli(['migrate'], env);
    expect(migrate.stdout).toMatch(/^applied \d+ migrations \(001-settings … \S+\) \(migrations applied: \d+, pending: 0\)\n$/);
    expect((await runCliHere(['migrate'], env)).stdout).toMatch(/^nothing to do: the database is up to date/);

    const org = await runCliHere(['org', 'create', 'acme', '--display-name', 'Acme Inc.'], env);
    expect(org.stdout).toMatch(/^created organization acme \("Acme Inc\."\), id [0-9a-f-]{36}\n$/);

    const file = join(tempDir(), 'conn.json');
    writeFileSync(file, JSON.stringify({ name: 'acme-okta', type: 'saml', domains: ['acme.com'], idp: { entity_id: 'urn:idp', sso_url: 'https://idp.example/sso', certificates: [cert] }, membership_rules: [{ organization: 'acme', role: 'member' }] }));
    const conn = await runCliHere(['connection', 'create', '--file', file], env);
    expect(conn.stdout).toMatch(/^created SAML connection acme-okta, id [0-9a-f-]{36}; give these to the identity provider:\n {2}entity_id: https:\/\/sso\.example\.com/);

    const dir = await runCliHere(['directory', 'create', '--connection', 'acme-okta'], env);
    expect(dir.code, dir.stderr).toBe(0);
    expect(dir.stdout).toMatch(/^created SCIM directory "acme-okta" for connection acme-okta \(directory [0-9a-f-]{36}\)\nSCIM base URL: https:\/\/sso\.example\.com\/scim\/v2\//);
    const unknownConn = await runCliHere(['directory', 'create', '--connection', 'nope'], env);
    expect(unknownConn.stderr).toBe('orgsync: no connection with the id or name "nope"\n');

    const reconcile = await runCliHere(['reconcile', '--connection', 'acme-okta'], env);
    expect(reconcile.code, reconcile.stderr).toBe(0);
    expect(reconcile.stdout).toMatch(/^flagged 0 memberships not_in_directory \(sync run /);

    const created = JSON.parse((await runCliHere(['api-key', 'create', '--name', 'ci', '--scopes', 'read:organizations', '--json'], env)).stdout);
    const list = await runCliHere(['api-key', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^ID +NAME +PREFIX +STATE +SCOPES\n${created.id}  ci +${created.prefix}… +never used +read:organizations\n$`));
    expect(list.stdout).not.toContain(created.key);

    const revoke = await runCliHere(['api-key', 'revoke', created.id], env);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toBe(`revoked API key "ci" (id ${created.id}); it stops working at once\n`);
    expect((await runCliHere(['api-key', 'list', '--json'], env)).stdout).toContain('"revoked_at": "');
    expect((await runCliHere(['api-key', 'revoke', created.id], env)).stderr).toBe('orgsync: API key not found.\n');
  });

  it('says which folder it created for a SQLite file', async () => {
    const dir = tempDir();
    const res = await runCli(['org', 'list'], { DATABASE_URL: `sqlite:${join(dir, 'missing', 'db.sqlite')}` });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe(`orgsync: created the folder ${join(dir, 'missing')} for the SQLite database (DATABASE_URL=sqlite:${join(dir, 'missing', 'db.sqlite')})\n`);
    expect(existsSync(join(dir, 'missing', 'db.sqlite'))).toBe(true);
  });
});
