import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // One-time setup links: the customer's IT admin configures SSO and/or a directory for one
  // organization. Only the token's hash is stored; the URL is shown once.
  await knex.schema.createTable('setup_links', (t) => {
    t.string('id', 36).primary();
    t.string('organization_id', 36).notNullable().references('id').inTable('organizations').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique('setup_links_token_hash_unique');
    t.boolean('intent_sso').notNullable();
    t.boolean('intent_directory').notNullable();
    t.string('created_at', 32).notNullable();
    t.string('expires_at', 32).notNullable();
    t.string('revoked_at', 32);
    t.string('finished_at', 32);
    t.string('last_used_at', 32);
    t.string('created_by_type', 20).notNullable();
    t.string('created_by_id', 64);
    // What the customer has entered so far (provider choice, role mapping, last test result), as JSON.
    t.text('draft').notNullable().defaultTo('{}');
    t.string('connection_id', 36).references('id').inTable('connections').onDelete('SET NULL');
    t.string('directory_id', 36);
    t.index(['organization_id'], 'setup_links_organization_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('setup_links');
}
