import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('identities', (t) => {
    t.string('id', 36).primary();
    t.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('connection_id', 36).notNullable().references('id').inTable('connections').onDelete('CASCADE');
    t.string('subject', 500).notNullable();
    // The IdP's stable object id (Entra `oid`), matched against SCIM externalId.
    t.string('external_id', 500);
    t.string('created_at', 32).notNullable();
    t.string('last_login_at', 32);
    t.unique(['connection_id', 'subject'], { indexName: 'identities_connection_subject_unique' });
    t.index(['user_id'], 'identities_user_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('identities');
}
