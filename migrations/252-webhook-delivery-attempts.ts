import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Every HTTP attempt, kept so operators can see why an endpoint fails.
  await knex.schema.createTable('webhook_delivery_attempts', (t) => {
    t.string('id', 36).primary();
    t.string('delivery_id', 36).notNullable().references('id').inTable('webhook_deliveries').onDelete('CASCADE');
    t.string('webhook_id', 36).notNullable();
    t.string('at', 32).notNullable();
    t.string('outcome', 20).notNullable();
    t.integer('status_code');
    t.integer('duration_ms').notNullable();
    t.text('error');
    t.index(['delivery_id', 'at'], 'webhook_delivery_attempts_delivery_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhook_delivery_attempts');
}
