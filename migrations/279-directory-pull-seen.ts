import type { Knex } from 'knex';

/**
 * What a full pass of a pull directory has seen so far (users, groups, group members). Absence is
 * only acted on once a pass has completed, so this survives a failed run and the pass resumes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('directory_pull_seen', (t) => {
    t.string('directory_id', 36).notNullable().references('id').inTable('directories').onDelete('CASCADE');
    t.string('pass_id', 36).notNullable();
    t.string('kind', 10).notNullable();
    t.string('remote_id', 300).notNullable();
    t.primary(['directory_id', 'pass_id', 'kind', 'remote_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('directory_pull_seen');
}
