import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('memberships', (t) => {
    t.string('organization_id', 36).notNullable().references('id').inTable('organizations').onDelete('CASCADE');
    t.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('role', 10).notNullable();
    t.string('source', 10).notNullable();
    t.string('status', 10).notNullable().defaultTo('active');
    t.string('flagged_reason', 40);
    t.string('flagged_at', 32);
    t.text('flag_evidence');
    t.string('joined_at', 32).notNullable();
    t.string('last_synced_at', 32);
    t.primary(['organization_id', 'user_id']);
    t.index(['user_id'], 'memberships_user_idx');
    t.index(['organization_id', 'status', 'user_id'], 'memberships_org_status_idx');
  });
  await knex.schema.createTable('removal_records', (t) => {
    t.string('organization_id', 36).notNullable().references('id').inTable('organizations').onDelete('CASCADE');
    t.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('removed_at', 32).notNullable();
    t.text('removed_by').notNullable();
    t.primary(['organization_id', 'user_id']);
    t.index(['user_id'], 'removal_records_user_idx');
  });
  await knex.schema.createTable('invitations', (t) => {
    t.string('id', 36).primary();
    t.string('organization_id', 36).notNullable().references('id').inTable('organizations').onDelete('CASCADE');
    t.string('email', 320).notNullable();
    t.string('role', 10).notNullable();
    t.string('created_at', 32).notNullable();
    t.index(['organization_id'], 'invitations_organization_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('invitations');
  await knex.schema.dropTable('removal_records');
  await knex.schema.dropTable('memberships');
}
