import type { Knex } from 'knex';

/**
 * PostgreSQL: a statement that inserts memberships checks their organizations and users once, not
 * once per row. A first login into 400 organizations inserts 400 memberships, and the two foreign
 * keys of `memberships` ran 800 checks (a query and a row lock each): about a fifth of the time of
 * that login's write, measured by replaying its statement. Measured with orgsync's generic plans,
 * a statement inserting 400 memberships took 3.9–4.9 ms instead of 7.5–7.8 ms; one inserting one or
 * five took as long as before. Triggers keep what the foreign keys kept:
 *
 * - **An inserted membership's organization and user exist.** After each inserting statement, one
 *   query per side locks the rows it refers to with KEY SHARE (the lock the foreign-key check
 *   takes) and counts them against the statement's distinct keys. A deletion under way makes it
 *   wait; a committed deletion leaves a row out, and the statement fails with the error the foreign
 *   key gave (23503, with its constraint's name). The lock holds until the transaction ends, so no
 *   deletion passes the check.
 * - **Deleting an organization or a user deletes its memberships** (ON DELETE CASCADE), in the same
 *   statement. A deletion that waited for an inserting transaction deletes the memberships it
 *   committed: each statement of the trigger reads what is committed when it starts.
 * - **A membership's keys and a referenced id change only to rows that exist** (ON UPDATE NO
 *   ACTION). orgsync never changes either.
 * - **TRUNCATE** of organizations or users deletes every membership.
 *
 * The functions run with the search path of the migration (`SET search_path FROM CURRENT`), so a
 * deletion from a session with another search path still finds this schema's memberships.
 * SQLite keeps the foreign keys: its checks are cheap calls.
 */
const FKS = [
  ['organization_id', 'organizations', 'memberships_organization_id_foreign'],
  ['user_id', 'users', 'memberships_user_id_foreign'],
] as const;

const missingKey = (column: string, table: string, constraint: string, key: string) => `
    RAISE EXCEPTION 'insert or update on table "memberships" violates foreign key constraint "${constraint}"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '${constraint}', TABLE = 'memberships', SCHEMA = TG_TABLE_SCHEMA,
            DETAIL = format('Key (${column})=(%s) is not present in table "${table}".', ${key});`;

export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  // The keys go as arrays, so each lookup is one index scan over the keys and its plan is cached
  // with the function (a query over the transition table itself is planned at every call, and read
  // the whole referenced table once it was large).
  const checks = FKS.map(
    ([column, table, constraint]) => `
    SELECT count(*) INTO got FROM (SELECT 1 FROM "${table}" r WHERE r."id" = ANY(keys.${column}) FOR KEY SHARE OF r) locked;
    IF got <> cardinality(keys.${column}) THEN
      SELECT k INTO missing FROM unnest(keys.${column}) k WHERE NOT EXISTS (SELECT 1 FROM "${table}" r WHERE r."id" = k) LIMIT 1;${missingKey(column, table, constraint, 'missing')}
    END IF;`,
  );
  await knex.raw(`
    CREATE FUNCTION memberships_check_references() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE keys record; got bigint; missing text;
    BEGIN
      SELECT array_agg(DISTINCT "organization_id") AS organization_id, array_agg(DISTINCT "user_id") AS user_id INTO keys FROM new_rows;
      IF keys.organization_id IS NULL THEN
        RETURN NULL;
      END IF;${checks.join('')}
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER memberships_check_references AFTER INSERT ON "memberships" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION memberships_check_references()`);

  // A changed key: checked row by row (it never happens in orgsync; a statement trigger on every update would cost each sync).
  const keyChecks = FKS.map(
    ([column, table, constraint]) => `
    IF NEW."${column}" IS DISTINCT FROM OLD."${column}" AND NOT EXISTS (SELECT 1 FROM "${table}" r WHERE r."id" = NEW."${column}" FOR KEY SHARE) THEN${missingKey(column, table, constraint, `NEW."${column}"`)}
    END IF;`,
  );
  await knex.raw(`
    CREATE FUNCTION memberships_check_changed_references() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN${keyChecks.join('')}
      RETURN NEW;
    END $$`);
  await knex.raw(`CREATE TRIGGER memberships_check_changed_references BEFORE UPDATE OF "organization_id", "user_id" ON "memberships" FOR EACH ROW EXECUTE FUNCTION memberships_check_changed_references()`);

  for (const [column, table, constraint] of FKS) {
    await knex.raw(`
      CREATE FUNCTION ${table}_delete_memberships() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          DELETE FROM "memberships";
        ELSE
          DELETE FROM "memberships" m USING old_rows o WHERE m."${column}" = o."id";
        END IF;
        RETURN NULL;
      END $$`);
    await knex.raw(`CREATE TRIGGER ${table}_delete_memberships AFTER DELETE ON "${table}" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${table}_delete_memberships()`);
    await knex.raw(`CREATE TRIGGER ${table}_truncate_memberships AFTER TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION ${table}_delete_memberships()`);
    await knex.raw(`
      CREATE FUNCTION ${table}_keep_membership_ids() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM "memberships" m WHERE m."${column}" = OLD."id") THEN
          RAISE EXCEPTION 'update or delete on table "${table}" violates foreign key constraint "${constraint}" on table "memberships"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '${constraint}', TABLE = '${table}', SCHEMA = TG_TABLE_SCHEMA,
                  DETAIL = format('Key (id)=(%s) is still referenced from table "memberships".', OLD."id");
        END IF;
        RETURN NEW;
      END $$`);
    await knex.raw(`CREATE TRIGGER ${table}_keep_membership_ids BEFORE UPDATE OF "id" ON "${table}" FOR EACH ROW WHEN (NEW."id" IS DISTINCT FROM OLD."id") EXECUTE FUNCTION ${table}_keep_membership_ids()`);
    await knex.raw(`ALTER TABLE "memberships" DROP CONSTRAINT "${constraint}"`);
  }
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  for (const [column, table, constraint] of FKS) {
    await knex.raw(`DROP TRIGGER ${table}_keep_membership_ids ON "${table}"`);
    await knex.raw(`DROP FUNCTION ${table}_keep_membership_ids()`);
    await knex.raw(`DROP TRIGGER ${table}_truncate_memberships ON "${table}"`);
    await knex.raw(`DROP TRIGGER ${table}_delete_memberships ON "${table}"`);
    await knex.raw(`DROP FUNCTION ${table}_delete_memberships()`);
    await knex.raw(`DELETE FROM "memberships" m WHERE NOT EXISTS (SELECT 1 FROM "${table}" r WHERE r."id" = m."${column}")`);
    await knex.raw(`ALTER TABLE "memberships" ADD CONSTRAINT "${constraint}" FOREIGN KEY ("${column}") REFERENCES "${table}" ("id") ON DELETE CASCADE`);
  }
  await knex.raw('DROP TRIGGER memberships_check_changed_references ON "memberships"');
  await knex.raw('DROP FUNCTION memberships_check_changed_references()');
  await knex.raw('DROP TRIGGER memberships_check_references ON "memberships"');
  await knex.raw('DROP FUNCTION memberships_check_references()');
}
