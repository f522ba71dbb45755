import type { Knex } from 'knex';

/**
 * The sync report's chart counts an organization's flags, removals and restores per day. A partial
 * index holds only those three actions, ordered by organization and time, with the action: the
 * count reads the window's index entries and nothing else, and the writes that dominate the log
 * (SCIM user changes, logins, role changes) do not pay for it.
 */
const ACTIONS = "'membership.flagged', 'membership.removed', 'membership.restored'";

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX "audit_events_membership_changes_idx" ON "audit_events" ("organization_id", "at", "action") WHERE "action" IN (${ACTIONS})`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX "audit_events_membership_changes_idx"');
}
