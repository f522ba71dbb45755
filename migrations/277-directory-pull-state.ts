import type { Knex } from 'knex';

/**
 * Where each pull directory stands: the source's cursor (delta links, the page a failed run stopped
 * at), when it runs next, and how the last run ended. One row per pull directory.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('directory_pull_state', (t) => {
    t.string('directory_id', 36).primary().references('id').inTable('directories').onDelete('CASCADE');
    t.text('cursor');
    t.string('next_run_at', 32).notNullable();
    t.string('last_run_at', 32);
    t.string('last_success_at', 32);
    t.text('last_error');
    t.integer('failures').notNullable().defaultTo(0);
    t.index(['next_run_at'], 'directory_pull_state_next_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('directory_pull_state');
}
