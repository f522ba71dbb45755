import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The SQLite file a `sqlite:` URL opens (absolute), or undefined for `:memory:` and PostgreSQL. */
export function sqliteFile(url: string): string | undefined {
  if (!url.startsWith('sqlite:')) return undefined;
  const path = url.slice('sqlite:'.length);
  return path === ':memory:' ? undefined : resolve(path);
}

/** The database, as people may see it in a terminal: an absolute SQLite path, or the URL without its password. */
export function describeDatabase(url: string): string {
  if (url.startsWith('sqlite:')) return sqliteFile(url) ? `SQLite ${sqliteFile(url)}` : 'SQLite in memory (nothing is kept after exit)';
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return `PostgreSQL ${u.toString()}`;
  } catch {
    return 'PostgreSQL (unparsable URL)';
  }
}

/**
 * Creates the folder of a SQLite file when it is missing and returns the topmost folder it created,
 * so the caller can say so: a typo in DATABASE_URL should not silently make folders elsewhere.
 */
export function ensureSqliteFolder(url: string): string | undefined {
  const file = sqliteFile(url);
  if (!file || existsSync(dirname(file))) return undefined;
  return mkdirSync(dirname(file), { recursive: true });
}
