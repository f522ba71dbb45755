import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('scim_users', (t) => {
    t.string('id', 36).primary();
    t.string('directory_id', 36).notNullable().references('id').inTable('directories').onDelete('CASCADE');
    t.string('user_id', 36).references('id').inTable('users').onDelete('SET NULL');
    t.string('user_name', 500).notNullable();
    t.string('user_name_lower', 500).notNullable();
    t.string('external_id', 500);
    t.string('primary_email_lower', 320);
    t.string('display_name_lower', 500);
    t.boolean('active').notNullable().defaultTo(true);
    // The full SCIM resource as stored (core + extensions), without meta.
    t.text('data').notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.unique(['directory_id', 'user_name_lower'], { indexName: 'scim_users_dir_username_unique' });
    t.index(['directory_id', 'external_id'], 'scim_users_dir_external_idx');
    t.index(['directory_id', 'primary_email_lower'], 'scim_users_dir_email_idx');
    t.index(['directory_id', 'display_name_lower'], 'scim_users_dir_display_idx');
    t.index(['directory_id', 'updated_at'], 'scim_users_dir_updated_idx');
    t.index(['directory_id', 'created_at', 'id'], 'scim_users_dir_created_idx');
    t.index(['user_id'], 'scim_users_user_idx');
  });
  // Every email value of a user, for `emails.value` / `emails[type eq …]` filters answered by index.
  await knex.schema.createTable('scim_user_emails', (t) => {
    t.string('scim_user_id', 36).notNullable().references('id').inTable('scim_users').onDelete('CASCADE');
    t.string('directory_id', 36).notNullable();
    t.string('value_lower', 320).notNullable();
    t.string('type', 50);
    t.boolean('primary').notNullable().defaultTo(false);
    t.index(['directory_id', 'value_lower'], 'scim_user_emails_dir_value_idx');
    t.index(['scim_user_id'], 'scim_user_emails_user_idx');
  });
  // What the IdP deleted: denies login and is the evidence for `idp_deleted` flags.
  await knex.schema.createTable('scim_user_tombstones', (t) => {
    t.string('directory_id', 36).notNullable().references('id').inTable('directories').onDelete('CASCADE');
    t.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('scim_user_id', 36).notNullable();
    t.string('user_name_lower', 500).notNullable();
    t.string('external_id', 500);
    t.string('deleted_at', 32).notNullable();
    t.primary(['directory_id', 'user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('scim_user_tombstones');
  await knex.schema.dropTable('scim_user_emails');
  await knex.schema.dropTable('scim_users');
}
