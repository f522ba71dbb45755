import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Leases for background jobs so only one instance runs a job at a time.
  await knex.schema.createTable('job_locks', (t) => {
    t.string('name', 100).primary();
    t.string('owner', 100).notNullable();
    t.string('locked_until', 32).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('job_locks');
}
