import type { Knex } from 'knex';

/**
 * Per-connection opt-in for SAML IdPs that still sign with SHA-1 (RSA-SHA1 signatures or SHA-1
 * digests). Off for every connection, existing ones included: SHA-1 is refused unless an operator
 * turns this on for a legacy IdP.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('connections', (t) => {
    t.boolean('allow_sha1_signatures').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  // Plain DROP COLUMN on both databases: knex's SQLite emulation rebuilds the table, and dropping the
  // old one would cascade to every row that references a connection (domains, identities, …).
  await knex.raw('ALTER TABLE "connections" DROP COLUMN "allow_sha1_signatures"');
}
