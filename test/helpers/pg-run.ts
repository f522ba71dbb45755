import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';

/** Pooled schemas are named `tp_<run>_<random>`. */
export const pooledSchemaPrefix = (run: string): string => `tp_${run}_`;

/**
 * vitest global setup: names this run, so that test/helpers/db.ts pools migrated PostgreSQL schemas
 * per worker process, and drops at the end the schemas still in those pools (their names carry the
 * run's id, so a run never drops another's).
 */
export default function setup(): () => Promise<void> {
  const run = randomBytes(4).toString('hex');
  process.env.ORGSYNC_TEST_RUN = run;
  return async () => {
    const url = process.env.TEST_DATABASE_URL;
    if (!url) return;
    const a = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    try {
      const left = await a.raw(`SELECT nspname FROM pg_namespace WHERE starts_with(nspname, ?)`, [pooledSchemaPrefix(run)]);
      for (const { nspname } of left.rows as { nspname: string }[]) await a.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [nspname]);
    } finally {
      await a.destroy();
    }
  };
}
