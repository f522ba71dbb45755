import type { Knex } from 'knex';

/**
 * The service provider's own keys, per connection: `signing` (SAML AuthnRequests, OIDC
 * private_key_jwt) and `encryption` (SAML EncryptedAssertion). One `current` key per use; after a
 * rotation the old one stays `previous` (published, still decrypting) until it is retired, which
 * deletes it. Private keys are sealed with the secret box; certificates are public.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sp_keys', (t) => {
    t.string('id', 36).primary();
    t.string('connection_id', 36).notNullable().references('id').inTable('connections').onDelete('CASCADE');
    t.string('use', 16).notNullable();
    t.string('status', 16).notNullable();
    t.string('kid', 64).notNullable();
    t.text('certificate').notNullable();
    t.text('private_key_sealed').notNullable();
    t.string('created_at', 32).notNullable();
    t.string('rotated_at', 32);
    t.string('retire_after', 32);
    t.index(['connection_id', 'use'], 'sp_keys_connection_use_idx');
  });
  // Two instances adding the first key of a connection at once: one wins, the other reads it.
  await knex.raw(`CREATE UNIQUE INDEX "sp_keys_one_current" ON "sp_keys" ("connection_id", "use") WHERE "status" = 'current'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sp_keys');
}
