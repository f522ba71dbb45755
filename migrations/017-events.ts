import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The outbox: written in the same transaction as the change it describes.
  await knex.schema.createTable('events', (t) => {
    t.bigIncrements('seq').primary();
    t.string('id', 36).notNullable().unique('events_id_unique');
    t.string('type', 60).notNullable();
    t.string('at', 32).notNullable();
    t.string('organization_id', 36);
    t.string('user_id', 36);
    t.text('data').notNullable();
    t.index(['organization_id', 'seq'], 'events_org_idx');
    t.index(['type', 'seq'], 'events_type_idx');
    t.index(['at'], 'events_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('events');
}
