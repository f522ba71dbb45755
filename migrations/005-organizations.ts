import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('organizations', (t) => {
    t.string('id', 36).primary();
    t.string('name', 100).notNullable().unique('organizations_name_unique');
    t.string('display_name', 250).notNullable();
    // The governing connection: at most one per organization.
    t.string('connection_id', 36).references('id').inTable('connections').onDelete('SET NULL');
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['connection_id'], 'organizations_connection_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('organizations');
}
