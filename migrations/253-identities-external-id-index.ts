import type { Knex } from 'knex';

/** SCIM linking looks an identity up by its connection and the IdP's external id on every create. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('identities', (t) => {
    t.index(['connection_id', 'external_id'], 'identities_connection_external_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('identities', (t) => {
    t.dropIndex(['connection_id', 'external_id'], 'identities_connection_external_idx');
  });
}
