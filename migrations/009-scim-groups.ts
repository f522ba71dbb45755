import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('scim_groups', (t) => {
    t.string('id', 36).primary();
    t.string('directory_id', 36).notNullable().references('id').inTable('directories').onDelete('CASCADE');
    t.string('display_name', 500).notNullable();
    t.string('display_name_lower', 500).notNullable();
    t.string('external_id', 500);
    t.text('data').notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.unique(['directory_id', 'display_name_lower'], { indexName: 'scim_groups_dir_display_unique' });
    t.index(['directory_id', 'external_id'], 'scim_groups_dir_external_idx');
    t.index(['directory_id', 'updated_at'], 'scim_groups_dir_updated_idx');
    t.index(['directory_id', 'created_at', 'id'], 'scim_groups_dir_created_idx');
  });
  await knex.schema.createTable('scim_group_members', (t) => {
    t.string('group_id', 36).notNullable().references('id').inTable('scim_groups').onDelete('CASCADE');
    t.string('scim_user_id', 36).notNullable().references('id').inTable('scim_users').onDelete('CASCADE');
    t.string('directory_id', 36).notNullable();
    t.string('added_at', 32).notNullable();
    t.primary(['group_id', 'scim_user_id']);
    t.index(['scim_user_id'], 'scim_group_members_user_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('scim_group_members');
  await knex.schema.dropTable('scim_groups');
}
