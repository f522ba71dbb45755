import type { Knex } from 'knex';

/**
 * SAML: sign AuthnRequests with the connection's SP signing key. NULL (every existing connection):
 * follow the IdP metadata's WantAuthnRequestsSigned.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('connections', (t) => {
    t.boolean('sign_authn_requests').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  // Plain DROP COLUMN: knex's SQLite emulation rebuilds the table, and dropping the old one cascades.
  await knex.raw('ALTER TABLE "connections" DROP COLUMN "sign_authn_requests"');
}
