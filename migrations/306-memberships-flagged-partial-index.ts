import type { Knex } from 'knex';

/**
 * The flagged-at index covers flagged memberships only. It served two reads, the sync report's
 * newest flags and the auto-removal of flags older than a cutoff, and both ask for flagged
 * memberships only; yet every active membership took an entry in it too, in its organization's part
 * of the index, so a login that adds 400 memberships wrote 400 entries there in 400 places. Both
 * reads now spell `status = 'flagged'` out in their SQL, as a partial index needs on SQLite and in
 * PostgreSQL's generic plans (a parameter cannot prove the index's condition).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX "memberships_flagged_at_idx" ON "memberships" ("organization_id", "flagged_at") WHERE "status" = 'flagged'`);
  await knex.raw('DROP INDEX "memberships_org_status_flagged_at_idx"');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX "memberships_org_status_flagged_at_idx" ON "memberships" ("organization_id", "status", "flagged_at")');
  await knex.raw('DROP INDEX "memberships_flagged_at_idx"');
}
