import type { Knex } from 'knex';

/**
 * Why a login sync could not trust the login's group list (Entra group overage, no groups attribute)
 * and which flags or role changes it held back because of that (JSON; null for a complete run).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (t) => {
    t.text('incomplete');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sync_runs', (t) => {
    t.dropColumn('incomplete');
  });
}
