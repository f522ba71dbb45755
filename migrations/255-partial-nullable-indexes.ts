import type { Knex } from 'knex';

/**
 * Two indexes whose column is empty for most rows of a busy write path: SCIM user changes write
 * audit entries without an organization, and many IdPs send users without a displayName. A partial
 * index leaves those rows out, so such a write touches one page less; every lookup that names a value
 * (`organization_id = ?`, `IN (…)`, `displayName eq/sw/gt …`) still uses it, on both databases.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => t.dropIndex(['organization_id', 'seq'], 'audit_events_org_idx'));
  await knex.raw('CREATE INDEX "audit_events_org_idx" ON "audit_events" ("organization_id", "seq") WHERE "organization_id" IS NOT NULL');
  await knex.schema.alterTable('scim_users', (t) => t.dropIndex(['directory_id', 'display_name_lower'], 'scim_users_dir_display_idx'));
  await knex.raw('CREATE INDEX "scim_users_dir_display_idx" ON "scim_users" ("directory_id", "display_name_lower") WHERE "display_name_lower" IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('scim_users', (t) => t.dropIndex(['directory_id', 'display_name_lower'], 'scim_users_dir_display_idx'));
  await knex.schema.alterTable('scim_users', (t) => t.index(['directory_id', 'display_name_lower'], 'scim_users_dir_display_idx'));
  await knex.schema.alterTable('audit_events', (t) => t.dropIndex(['organization_id', 'seq'], 'audit_events_org_idx'));
  await knex.schema.alterTable('audit_events', (t) => t.index(['organization_id', 'seq'], 'audit_events_org_idx'));
}
