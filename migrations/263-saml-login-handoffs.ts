import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // A validated SAML response waiting, for a minute or two, for the browser that started the
  // sign-in: the ACS POST is cross-site and carries none of its cookies, the GET it redirects to does.
  await knex.schema.createTable('saml_login_handoffs', (t) => {
    // The hash of the one-time token in the continuation URL: a database read never yields a usable link.
    t.string('id_hash', 64).primary();
    t.string('connection_id', 36).notNullable();
    // The AuthnRequest it answers; null for an IdP-initiated response.
    t.string('request_id', 200);
    t.text('relay_state');
    t.text('profile').notNullable();
    t.string('expires_at', 32).notNullable();
    t.index(['expires_at'], 'saml_login_handoffs_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('saml_login_handoffs');
}
