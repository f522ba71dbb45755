import type { Knex } from 'knex';

/**
 * An account whose email is only a claim: set by a connection that has not verified the email's
 * domain. Such an account belongs to that connection alone and is never found by email; null means
 * the email was set by the connection that owns its domain.
 *
 * No foreign key on purpose: when the connection is deleted the account must stay bound (a null
 * would turn its unverified email into a matchable one).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('bound_connection_id', 36);
  });
}

export async function down(knex: Knex): Promise<void> {
  // A plain DROP COLUMN: on SQLite, knex's dropColumn rebuilds the table, and dropping the old users
  // table would cascade to identities and memberships.
  await knex.raw('ALTER TABLE "users" DROP COLUMN "bound_connection_id"');
}
