import type { Knex } from 'knex';

const KINDS = [
  ['scim_users', 'scim_user_count', 'user'],
  ['scim_groups', 'scim_group_count', 'group'],
] as const;

/**
 * PostgreSQL: the per-directory resource counts (migration 100) no longer update the directory row
 * on every insert and delete, which held that row's lock until commit and so let only one SCIM
 * create per directory proceed at a time. Statement triggers add each statement's change to one of
 * 32 slots instead (chosen by the server process, so concurrent transactions rarely share one); the
 * count is the directory's column plus its slots. A count of a directory being deleted is not
 * written (its slots go with it). SQLite keeps migration 100's triggers: it has one writer anyway.
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  await knex.raw(`CREATE TABLE "directory_resource_counts" (
    "directory_id" varchar(36) NOT NULL REFERENCES "directories" ("id") ON DELETE CASCADE,
    "kind" varchar(5) NOT NULL,
    "slot" smallint NOT NULL,
    "n" bigint NOT NULL,
    PRIMARY KEY ("directory_id", "kind", "slot"))`);
  for (const [table, , kind] of KINDS) {
    await knex.raw(`DROP TRIGGER IF EXISTS ${table}_count ON ${table}`);
    await knex.raw(`DROP FUNCTION IF EXISTS ${table}_count()`);
    for (const [op, rows, sign] of [
      ['INSERT', 'new_rows', '+'],
      ['DELETE', 'old_rows', '-'],
    ] as const) {
      const fn = `${table}_count_${op.toLowerCase()}`;
      await knex.raw(`
        CREATE FUNCTION ${fn}() RETURNS trigger AS $$
        BEGIN
          INSERT INTO directory_resource_counts (directory_id, kind, slot, n)
            SELECT r.directory_id, '${kind}', pg_backend_pid() % 32, ${sign}count(*)
              FROM ${rows} r WHERE EXISTS (SELECT 1 FROM directories d WHERE d.id = r.directory_id)
              GROUP BY r.directory_id
            ON CONFLICT (directory_id, kind, slot) DO UPDATE SET n = directory_resource_counts.n + excluded.n;
          RETURN NULL;
        END;
        $$ LANGUAGE plpgsql`);
      await knex.raw(`CREATE TRIGGER ${fn} AFTER ${op} ON ${table} REFERENCING ${op === 'INSERT' ? 'NEW' : 'OLD'} TABLE AS ${rows} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`);
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  for (const [table, column, kind] of KINDS) {
    for (const op of ['insert', 'delete']) {
      await knex.raw(`DROP TRIGGER IF EXISTS ${table}_count_${op} ON ${table}`);
      await knex.raw(`DROP FUNCTION IF EXISTS ${table}_count_${op}()`);
    }
    // Fold the slots back into the column, then migration 100's row trigger again.
    await knex.raw(`UPDATE directories d SET ${column} = ${column} + s.n
      FROM (SELECT directory_id, sum(n) AS n FROM directory_resource_counts WHERE kind = '${kind}' GROUP BY directory_id) s
      WHERE d.id = s.directory_id`);
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
  }
  await knex.raw('DROP TABLE "directory_resource_counts"');
}
