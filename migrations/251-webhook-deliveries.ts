import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // One row per (endpoint, event): the unit of at-least-once delivery. The payload is copied so
  // retries and redeliveries survive event-log retention.
  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.string('id', 36).primary();
    t.string('webhook_id', 36).notNullable().references('id').inTable('webhooks').onDelete('CASCADE');
    t.bigInteger('event_seq').notNullable();
    t.string('event_id', 36).notNullable();
    t.string('event_type', 60).notNullable();
    // Deliveries sharing an order key (the user, else the organization) are delivered in sequence.
    t.string('order_key', 80).notNullable();
    t.text('payload').notNullable();
    t.string('status', 20).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('first_attempt_at', 32);
    t.string('next_attempt_at', 32).notNullable();
    t.string('last_attempt_at', 32);
    t.integer('last_status_code');
    t.text('last_error');
    t.string('delivered_at', 32);
    t.string('claimed_by', 60);
    t.string('claimed_until', 32);
    t.string('created_at', 32).notNullable();
    t.unique(['webhook_id', 'event_seq'], { indexName: 'webhook_deliveries_event_unique' });
    t.index(['status', 'next_attempt_at'], 'webhook_deliveries_due_idx');
    t.index(['webhook_id', 'order_key', 'status', 'event_seq'], 'webhook_deliveries_order_idx');
    t.index(['status', 'created_at'], 'webhook_deliveries_prune_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhook_deliveries');
}
