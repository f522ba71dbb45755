import type { Knex } from 'knex';

/** SAML: refuse a response whose assertion is not encrypted to one of the connection's SP keys. Off for existing connections. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('connections', (t) => {
    t.boolean('require_encrypted_assertions').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  // Plain DROP COLUMN: knex's SQLite emulation rebuilds the table, and dropping the old one cascades.
  await knex.raw('ALTER TABLE "connections" DROP COLUMN "require_encrypted_assertions"');
}
