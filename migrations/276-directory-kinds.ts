import type { Knex } from 'knex';

/**
 * Directories that orgsync pulls (Google Workspace, Microsoft Graph) beside the SCIM ones the IdP
 * pushes. `pull_settings` holds the non-secret settings as JSON; the key or client secret is sealed
 * with the secret box, like OIDC client secrets.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('directories', (t) => {
    t.string('kind', 20).notNullable().defaultTo('scim');
    t.text('pull_settings');
    t.text('pull_secret_sealed');
  });
}

export async function down(knex: Knex): Promise<void> {
  // Plain DROP COLUMN: knex rebuilds the table on SQLite, which breaks the SCIM count triggers on it.
  for (const column of ['pull_secret_sealed', 'pull_settings', 'kind']) await knex.raw('ALTER TABLE ?? DROP COLUMN ??', ['directories', column]);
}
