import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('directories', (t) => {
    t.string('id', 36).primary();
    t.string('connection_id', 36).notNullable().unique('directories_connection_unique')
      .references('id').inTable('connections').onDelete('CASCADE');
    t.string('name', 200).notNullable();
    t.string('created_at', 32).notNullable();
    t.string('last_activity_at', 32);
  });
  await knex.schema.createTable('directory_tokens', (t) => {
    t.string('id', 36).primary();
    t.string('directory_id', 36).notNullable().references('id').inTable('directories').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique('directory_tokens_hash_unique');
    t.string('prefix', 16).notNullable();
    t.string('created_at', 32).notNullable();
    // Set when rotated: the token keeps working until then (grace period).
    t.string('expires_at', 32);
    t.index(['directory_id'], 'directory_tokens_directory_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('directory_tokens');
  await knex.schema.dropTable('directories');
}
