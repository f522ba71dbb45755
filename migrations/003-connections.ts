import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('connections', (t) => {
    t.string('id', 36).primary();
    t.string('name', 100).notNullable().unique('connections_name_unique');
    t.string('type', 10).notNullable();
    // IdP settings as JSON; secrets inside are sealed with the key derived from ORGSYNC_SECRET.
    t.text('idp').notNullable();
    t.text('attribute_mapping').notNullable();
    t.string('roles_managed_by', 10).notNullable().defaultTo('idp');
    t.string('membership_sync', 20).notNullable().defaultTo('on_login');
    t.boolean('allow_idp_initiated').notNullable().defaultTo(false);
    t.integer('auto_remove_flagged_after_days');
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
  });
  await knex.schema.createTable('connection_domains', (t) => {
    // A domain is verified for one connection only.
    t.string('domain', 253).primary();
    t.string('connection_id', 36).notNullable().references('id').inTable('connections').onDelete('CASCADE');
    t.index(['connection_id'], 'connection_domains_connection_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('connection_domains');
  await knex.schema.dropTable('connections');
}
