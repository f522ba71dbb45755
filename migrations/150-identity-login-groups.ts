import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The groups the last login carried (JSON array), so rule previews can evaluate login-granted access.
  await knex.schema.alterTable('identities', (t) => {
    t.text('last_groups');
  });
}

export async function down(knex: Knex): Promise<void> {
  // A plain DROP COLUMN: knex's dropColumn would rebuild the table on SQLite.
  await knex.raw('ALTER TABLE "identities" DROP COLUMN "last_groups"');
}
