import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.string('id', 36).primary();
    t.string('email', 320).notNullable();
    // Lower-cased copy: SQLite `=` is case-sensitive; lookups by email are not.
    t.string('email_lower', 320).notNullable().index('users_email_lower_idx');
    t.string('name', 500);
    t.string('given_name', 250);
    t.string('family_name', 250);
    t.boolean('active').notNullable().defaultTo(true);
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.string('last_login_at', 32);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users');
}
