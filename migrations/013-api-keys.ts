import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_keys', (t) => {
    t.string('id', 36).primary();
    t.string('name', 200).notNullable();
    t.string('prefix', 16).notNullable();
    t.string('key_hash', 64).notNullable().unique('api_keys_hash_unique');
    t.text('scopes').notNullable();
    t.string('created_at', 32).notNullable();
    t.string('last_used_at', 32);
    t.string('revoked_at', 32);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_keys');
}
