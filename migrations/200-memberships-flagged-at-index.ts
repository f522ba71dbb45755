import type { Knex } from 'knex';

// The sync report lists an organization's newest flags first, and auto-removal looks for flags
// older than a cutoff: both read this index in order instead of sorting every flagged row.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('memberships', (t) => {
    t.index(['organization_id', 'status', 'flagged_at'], 'memberships_org_status_flagged_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('memberships', (t) => {
    t.dropIndex(['organization_id', 'status', 'flagged_at'], 'memberships_org_status_flagged_at_idx');
  });
}
