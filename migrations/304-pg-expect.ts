import type { Knex } from 'knex';

/**
 * PostgreSQL: `orgsync_expect(ok)`, which fails its statement with SQLSTATE `OSG01` unless `ok` is
 * true. A write that goes to the database in one message on what it expects to find (a SCIM create
 * of a user who links to no existing account) checks that expectation with it, after its locks: if
 * it no longer holds, the whole message fails, nothing is written, and the write runs again the
 * long way (see scim/linking.ts). SQLite writes in process and needs none.
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  await knex.raw(`
    CREATE FUNCTION orgsync_expect(ok boolean) RETURNS boolean AS $$
    BEGIN
      IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'what this write expected to find no longer holds' USING ERRCODE = 'OSG01';
      END IF;
      RETURN true;
    END;
    $$ LANGUAGE plpgsql`);
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  await knex.raw('DROP FUNCTION IF EXISTS orgsync_expect(boolean)');
}
