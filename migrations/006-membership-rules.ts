import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('membership_rules', (t) => {
    t.string('connection_id', 36).notNullable().references('id').inTable('connections').onDelete('CASCADE');
    t.integer('position').notNullable();
    t.string('organization_id', 36).notNullable().references('id').inTable('organizations').onDelete('CASCADE');
    t.string('role', 10).notNullable();
    // JSON array of group names/ids, or null: the rule grants everyone on the connection.
    t.text('groups');
    t.primary(['connection_id', 'position']);
    t.index(['organization_id'], 'membership_rules_organization_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('membership_rules');
}
