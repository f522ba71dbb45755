import type { Knex } from 'knex';

/** One row per pull run: how it was started, how it ended, what it cost and changed. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('directory_pull_runs', (t) => {
    t.string('id', 36).primary();
    t.string('directory_id', 36).notNullable().references('id').inTable('directories').onDelete('CASCADE');
    t.string('trigger', 10).notNullable();
    t.string('status', 20).notNullable();
    t.string('started_at', 32).notNullable();
    t.string('finished_at', 32);
    t.integer('requests').notNullable().defaultTo(0);
    t.text('counts').notNullable();
    t.text('error');
    t.index(['directory_id', 'started_at'], 'directory_pull_runs_dir_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('directory_pull_runs');
}
