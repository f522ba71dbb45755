import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Webhook endpoints. `cursor` is the last outbox sequence number fanned out to this endpoint.
  await knex.schema.createTable('webhooks', (t) => {
    t.string('id', 36).primary();
    t.text('url').notNullable();
    t.text('events').notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.text('secret_sealed').notNullable();
    t.bigInteger('cursor').notNullable().defaultTo(0);
    t.string('disabled_reason', 60);
    t.string('disabled_at', 32);
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhooks');
}
