import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sync_runs', (t) => {
    t.string('id', 36).primary();
    t.string('trigger', 10).notNullable();
    t.string('user_id', 36);
    t.string('connection_id', 36);
    t.string('directory_id', 36);
    t.string('at', 32).notNullable();
    t.text('added').notNullable();
    t.text('updated').notNullable();
    t.text('flagged').notNullable();
    t.text('restored').notNullable();
    t.text('skipped').notNullable();
    t.text('error');
    t.index(['user_id', 'id'], 'sync_runs_user_idx');
    t.index(['connection_id', 'id'], 'sync_runs_connection_idx');
  });
  // Which organizations a run touched, so reports can list an organization's recent runs by index.
  await knex.schema.createTable('sync_run_organizations', (t) => {
    t.string('sync_run_id', 36).notNullable().references('id').inTable('sync_runs').onDelete('CASCADE');
    t.string('organization_id', 36).notNullable();
    t.primary(['organization_id', 'sync_run_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sync_run_organizations');
  await knex.schema.dropTable('sync_runs');
}
