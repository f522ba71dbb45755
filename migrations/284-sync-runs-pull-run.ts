import type { Knex } from 'knex';

/**
 * The pull run (Google Workspace, Microsoft Graph) whose page wrote a sync run, so the run's summary
 * in an organization's report can count what it did there, and a user's run names the pull behind it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (t) => {
    t.string('pull_run_id', 36);
  });
  await knex.schema.alterTable('sync_runs', (t) => {
    t.index(['pull_run_id', 'id'], 'sync_runs_pull_run_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (t) => {
    t.dropIndex(['pull_run_id', 'id'], 'sync_runs_pull_run_idx');
  });
  // A plain DROP COLUMN: knex's dropColumn rebuilds the table on SQLite, and dropping the old table
  // cascades to the rows that refer to it.
  await knex.raw('ALTER TABLE "sync_runs" DROP COLUMN "pull_run_id"');
}
