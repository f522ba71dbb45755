import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { createDb, type Db } from '../../src/platform/db.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
export const dialectName = TEST_DATABASE_URL ? 'postgres' : 'sqlite';

export interface TestDatabase {
  db: Db;
  /** The DATABASE_URL a child process can use to reach the same data (file-backed SQLite or PG + schema). */
  url: string;
  schema?: string;
  cleanup(): Promise<void>;
}

/**
 * A fresh database for one test: a SQLite file in its own temporary directory by default, as
 * `npm start` uses (WAL, the background checkpoint worker), or a new PostgreSQL schema when
 * TEST_DATABASE_URL is set (so parallel files and runs never collide). `sqlite-memory` is for a test
 * that says why it needs no file.
 */
export async function createTestDatabase(kind: 'default' | 'sqlite' | 'sqlite-memory' | 'postgres' = 'default'): Promise<TestDatabase> {
  const usePg = kind === 'postgres' || (kind === 'default' && !!TEST_DATABASE_URL);
  if (kind === 'sqlite-memory') {
    const db = createDb('sqlite::memory:');
    return { db, url: 'sqlite::memory:', cleanup: () => db.destroy() };
  }
  if (!usePg) {
    const dir = mkdtempSync(join(tmpdir(), 'orgsync-test-'));
    const url = `sqlite:${join(dir, 'orgsync.sqlite')}`;
    const db = createDb(url);
    return {
      db,
      url,
      cleanup: async () => {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: TEST_DATABASE_URL, pool: { min: 0, max: 1 } });
  await admin.raw('CREATE SCHEMA ??', [schema]);
  await admin.destroy();
  const db = createDb(TEST_DATABASE_URL, { searchPath: schema, pool: { max: 5 } });
  return {
    db,
    url: withSearchPath(TEST_DATABASE_URL, schema),
    schema,
    cleanup: async () => {
      await db.destroy();
      const a = knexFactory({ client: 'pg', connection: TEST_DATABASE_URL, pool: { min: 0, max: 1 } });
      await a.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
      await a.destroy();
    },
  };
}

/** libpq `options` parameter: child processes connect with the test schema first on the search path. */
export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/**
 * Database URLs a CLI or server process can open, each fresh: a SQLite file by default, a new
 * PostgreSQL schema when TEST_DATABASE_URL is set. Call `cleanup` after the file's tests.
 */
export function processDatabases(): { url(): Promise<string>; cleanup(): Promise<void> } {
  const made: TestDatabase[] = [];
  return {
    async url() {
      if (!TEST_DATABASE_URL) return `sqlite:${join(mkdtempSync(join(tmpdir(), 'orgsync-')), 'orgsync.sqlite')}`;
      const d = await createTestDatabase('postgres');
      made.push(d);
      return d.url;
    },
    async cleanup() {
      for (const d of made) await d.cleanup();
    },
  };
}
