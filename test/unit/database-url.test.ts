import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeDatabase } from '../../src/platform/database-url.js';

describe('the database as the first-start message names it', () => {
  it('shows a SQLite file by its absolute path and a PostgreSQL URL without its password', () => {
    expect(describeDatabase('sqlite:./data/orgsync.sqlite')).toBe(`SQLite ${resolve('data/orgsync.sqlite')}`);
    expect(describeDatabase('sqlite::memory:')).toBe('SQLite in memory (nothing is kept after exit)');
    const described = describeDatabase('postgres://orgsync:s3cr%40t-pass@db.internal:5432/orgsync?sslmode=require');
    expect(described).toBe('PostgreSQL postgres://orgsync:***@db.internal:5432/orgsync?sslmode=require');
    expect(described).not.toContain('s3cr');
    expect(describeDatabase('postgres://db.internal/orgsync')).toBe('PostgreSQL postgres://db.internal/orgsync');
  });
});
