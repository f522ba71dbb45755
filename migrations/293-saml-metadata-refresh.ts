import type { Knex } from 'knex';

/**
 * SAML connections whose IdP settings come from a metadata URL: when the metadata is fetched next,
 * how the last fetch ended. The last good entity id, SSO URL and certificates stay in
 * `connections.idp`; a failed refresh only writes here. One row per such connection.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('saml_metadata_refresh', (t) => {
    t.string('connection_id', 36).primary().references('id').inTable('connections').onDelete('CASCADE');
    t.string('next_refresh_at', 32).notNullable();
    t.string('last_attempt_at', 32);
    t.string('last_success_at', 32);
    t.text('last_error');
    t.integer('failures').notNullable().defaultTo(0);
    t.string('valid_until', 32);
    t.index(['next_refresh_at'], 'saml_metadata_refresh_next_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('saml_metadata_refresh');
}
