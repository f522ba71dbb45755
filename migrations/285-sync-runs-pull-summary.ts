import type { Knex } from 'knex';

/**
 * A pull run's summary in one organization's report (trigger `pull`): the directory, its kind, the
 * run's id, status, error and counts, and what it changed in that organization (JSON; null for
 * other runs).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (t) => {
    t.text('pull');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE "sync_runs" DROP COLUMN "pull"');
}
