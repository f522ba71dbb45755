import type { Knex } from 'knex';

/**
 * PostgreSQL: memberships pages keep half their room for the next versions of their rows. Every
 * sign-in marks each membership it confirms as synced (`last_synced_at`, up to 400 rows a user);
 * on a full page such an update writes the row to another page and a new entry into each of the
 * table's four indexes, on a page with room it is a heap-only update that touches no index (the
 * old version is pruned in place later). Pages written from now on keep the room, so existing rows
 * gain it the first time they are updated. SQLite has no such setting.
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  await knex.raw('ALTER TABLE "memberships" SET (fillfactor = 50)');
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  await knex.raw('ALTER TABLE "memberships" RESET (fillfactor)');
}
