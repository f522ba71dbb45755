import type { Knex } from 'knex';

/**
 * PostgreSQL: less work per row for the writes a login makes 400 of when it adds 400 memberships.
 *
 * - `events_seq_unique` covers numbered events only. Writers insert events without a number (see
 *   300-events-sequenced-after-commit), and the unique index took an entry for each of those NULLs,
 *   which it never compared. The sequencer's update adds the entry when it numbers the row. Every
 *   reader of `seq` filters on it (`seq > n`, `max(seq)`, retention's lowest numbers), so the
 *   planner still uses the index.
 * - `sync_run_organizations` loses its foreign key to `sync_runs`, which checked the same run once
 *   per link row (400 checks for such a login). Links are written only with their run, in its
 *   transaction (reports/sync-runs.ts, membership-sync/service.ts), and deleted just before it in
 *   the one place runs are deleted (pull-directories/run-summary.ts); nothing else deletes runs,
 *   and `sync_runs` has no foreign keys of its own that could cascade into it. Readers reach runs
 *   through an inner join on the link, so a link without its run would show nothing.
 *
 * SQLite keeps both: it numbers events at insert, and its foreign-key checks are cheap calls.
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  await knex.raw('CREATE UNIQUE INDEX "events_seq_numbered_unique" ON "events" ("seq") WHERE "seq" IS NOT NULL');
  await knex.raw('DROP INDEX "events_seq_unique"');
  await knex.raw('ALTER INDEX "events_seq_numbered_unique" RENAME TO "events_seq_unique"');
  await knex.raw('ALTER TABLE "sync_run_organizations" DROP CONSTRAINT "sync_run_organizations_sync_run_id_foreign"');
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  await knex.raw('DELETE FROM "sync_run_organizations" l WHERE NOT EXISTS (SELECT 1 FROM "sync_runs" r WHERE r."id" = l."sync_run_id")');
  await knex.raw('ALTER TABLE "sync_run_organizations" ADD CONSTRAINT "sync_run_organizations_sync_run_id_foreign" FOREIGN KEY ("sync_run_id") REFERENCES "sync_runs" ("id") ON DELETE CASCADE');
  await knex.raw('CREATE UNIQUE INDEX "events_seq_all_unique" ON "events" ("seq")');
  await knex.raw('DROP INDEX "events_seq_unique"');
  await knex.raw('ALTER INDEX "events_seq_all_unique" RENAME TO "events_seq_unique"');
}
