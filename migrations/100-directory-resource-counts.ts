import type { Knex } from 'knex';

/**
 * Per-directory resource counts kept by triggers, so an unfiltered SCIM list answers `totalResults`
 * without counting every row (a COUNT over 100,000 users costs milliseconds per page). Triggers keep
 * the count true whatever writes the rows: the SCIM server, bulk seeding, or cascading deletes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('directories', (t) => {
    t.integer('scim_user_count').notNullable().defaultTo(0);
    t.integer('scim_group_count').notNullable().defaultTo(0);
  });
  for (const [table, column] of [
    ['scim_users', 'scim_user_count'],
    ['scim_groups', 'scim_group_count'],
  ] as const) {
    if (knex.client.config.client === 'pg') {
      await knex.raw(`
        CREATE FUNCTION ${table}_count() RETURNS trigger AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            UPDATE directories SET ${column} = ${column} + 1 WHERE id = NEW.directory_id;
          ELSE
            UPDATE directories SET ${column} = ${column} - 1 WHERE id = OLD.directory_id;
          END IF;
          RETURN NULL;
        END;
        $$ LANGUAGE plpgsql`);
      await knex.raw(`CREATE TRIGGER ${table}_count AFTER INSERT OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_count()`);
    } else {
      await knex.raw(`CREATE TRIGGER ${table}_count_insert AFTER INSERT ON ${table}
        BEGIN UPDATE directories SET ${column} = ${column} + 1 WHERE id = NEW.directory_id; END`);
      await knex.raw(`CREATE TRIGGER ${table}_count_delete AFTER DELETE ON ${table}
        BEGIN UPDATE directories SET ${column} = ${column} - 1 WHERE id = OLD.directory_id; END`);
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['scim_users', 'scim_groups']) {
    if (knex.client.config.client === 'pg') {
      await knex.raw(`DROP TRIGGER IF EXISTS ${table}_count ON ${table}`);
      await knex.raw(`DROP FUNCTION IF EXISTS ${table}_count()`);
    } else {
      await knex.raw(`DROP TRIGGER IF EXISTS ${table}_count_insert`);
      await knex.raw(`DROP TRIGGER IF EXISTS ${table}_count_delete`);
    }
  }
  // A plain DROP COLUMN: on SQLite, knex's dropColumn rebuilds the table, and dropping the old
  // directories table cascades to its tokens, SCIM users and groups.
  await knex.raw('ALTER TABLE "directories" DROP COLUMN "scim_user_count"');
  await knex.raw('ALTER TABLE "directories" DROP COLUMN "scim_group_count"');
}
