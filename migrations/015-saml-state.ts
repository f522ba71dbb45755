import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // AuthnRequest ids this service issued: the ACS POST is cross-site, so never session-only.
  await knex.schema.createTable('saml_requests', (t) => {
    t.string('id', 200).primary();
    t.string('connection_id', 36).notNullable();
    t.string('created_at', 32).notNullable();
    t.string('expires_at', 32).notNullable();
    t.index(['expires_at'], 'saml_requests_expires_idx');
  });
  // Assertion ids already accepted, kept until their NotOnOrAfter.
  await knex.schema.createTable('saml_replay_cache', (t) => {
    t.string('connection_id', 36).notNullable();
    t.string('assertion_id', 200).notNullable();
    t.string('expires_at', 32).notNullable();
    t.primary(['connection_id', 'assertion_id']);
    t.index(['expires_at'], 'saml_replay_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('saml_replay_cache');
  await knex.schema.dropTable('saml_requests');
}
