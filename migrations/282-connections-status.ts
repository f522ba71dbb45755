import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // `setup`: created by a setup link and not finished yet; its sign-ins are tests that change nothing.
  await knex.schema.alterTable('connections', (t) => {
    t.string('status', 10).notNullable().defaultTo('active');
  });
}

export async function down(knex: Knex): Promise<void> {
  // A plain DROP COLUMN: knex's dropColumn rebuilds the table on SQLite, and dropping the old table
  // cascades to the rows that refer to it.
  await knex.raw('ALTER TABLE "connections" DROP COLUMN "status"');
}
