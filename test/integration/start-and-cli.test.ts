import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startMain, stopProcess, tempDir, MAIN_ARGS, run } from '../helpers/process.js';
import { runCliHere } from '../helpers/cli.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../helpers/db.js';

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const d of databases) await d.cleanup();
});

/** A database URL a child process can share: a temp SQLite file, or a fresh PostgreSQL schema. */
async function sharedDatabaseUrl(): Promise<string> {
  if (!TEST_DATABASE_URL) return `sqlite:${join(tempDir(), 'orgsync.sqlite')}`;
  const d = await createTestDatabase('postgres');
  databases.push(d);
  return d.url;
}

describe('npm start', () => {
  it('migrates an empty database, prints the first admin key once, and serves the API with it', async () => {
    const DATABASE_URL = await sharedDatabaseUrl();
    const first = await startMain({ DATABASE_URL, LOG_LEVEL: 'info' });
    try {
      const match = /Created the first admin API key \(shown only now\): (osk_\S+)/.exec(first.output());
      expect(match, first.output()).not.toBeNull();
      const key = match![1]!;
      const res = await fetch(`${first.url}/api/v1/organizations`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe('6000');
      expect(first.output()).toContain('/admin');
    } finally {
      expect(await stopProcess(first.child)).toBe(0);
    }
    const second = await startMain({ DATABASE_URL, LOG_LEVEL: 'info' });
    try {
      expect(second.output()).not.toMatch(/osk_/);
    } finally {
      await stopProcess(second.child);
    }
  });

  it('uses ORGSYNC_BOOTSTRAP_API_KEY when no key exists', async () => {
    const key = 'bootstrap-key-for-tests-0123456789';
    const s = await startMain({ DATABASE_URL: await sharedDatabaseUrl(), ORGSYNC_BOOTSTRAP_API_KEY: key });
    try {
      const res = await fetch(`${s.url}/api/v1/organizations`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      expect(s.output()).not.toContain(key);
    } finally {
      await stopProcess(s.child);
    }
  });

  it('stops with a message naming a bad variable', async () => {
    const r = await run(process.execPath, MAIN_ARGS, { PORT: 'eighty' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Invalid configuration: PORT');
  });
});

describe('orgsync CLI', () => {
  it('migrates, creates and lists organizations, and creates API keys', async () => {
    const env = { DATABASE_URL: await sharedDatabaseUrl() };
    // The installed bin, as a shell runs it; the other commands run in this process (same program).
    const migrate = await runCli(['migrate'], env);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toMatch(/pending: 0/);

    const created = await runCliHere(['org', 'create', 'acme', '--display-name', 'Acme Inc.', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'acme', display_name: 'Acme Inc.' });

    const dup = await runCliHere(['org', 'create', 'acme'], env);
    expect(dup.code).toBe(1);
    expect(dup.stderr.trim()).toBe('orgsync: An organization named "acme" already exists.');

    const list = await runCliHere(['org', 'list', '--format', 'json'], env);
    expect(JSON.parse(list.stdout).map((o: { name: string }) => o.name)).toEqual(['acme']);

    const key = await runCliHere(['api-key', 'create', '--name', 'ci', '--scopes', 'read:organizations', '--json'], env);
    expect(key.code, key.stderr).toBe(0);
    expect(JSON.parse(key.stdout)).toMatchObject({ name: 'ci', scopes: ['read:organizations'] });

    const badScope = await runCliHere(['api-key', 'create', '--name', 'x', '--scopes', 'root'], env);
    expect(badScope.code).toBe(1);
    expect(badScope.stderr).toContain('unknown scope: root');

    const down = await runCliHere(['migrate', '--down'], env);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toMatch(/pending: 1/);
  });
});
