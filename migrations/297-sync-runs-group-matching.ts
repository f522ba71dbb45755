import type { Knex } from 'knex';

/**
 * What a login's groups matched (JSON; null when there is nothing to say): the group-like
 * attributes it carried when no membership rule matched any of them (names and a few sample
 * values), and the rule groups matched only through a DN's CN.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (t) => {
    t.text('group_matching');
  });
}

export async function down(knex: Knex): Promise<void> {
  // A plain DROP COLUMN: knex's dropColumn rebuilds the table on SQLite, and dropping the old table
  // cascades to the rows that refer to it.
  await knex.raw('ALTER TABLE "sync_runs" DROP COLUMN "group_matching"');
}
