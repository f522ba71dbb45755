import type { Knex } from 'knex';

/**
 * The audit log and the event outbox are written by every change and read mostly in `seq` order
 * from a cursor. Their ids are time-ordered UUIDs made by orgsync, never looked up, so they need no
 * unique index; event readers filter while walking `seq` forward, and retention prunes from the
 * lowest `seq`, so the event filter indexes only cost each write another page.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    t.dropUnique(['id'], 'events_id_unique');
    t.dropIndex(['organization_id', 'seq'], 'events_org_idx');
    t.dropIndex(['type', 'seq'], 'events_type_idx');
    t.dropIndex(['at'], 'events_at_idx');
  });
  await knex.schema.alterTable('audit_events', (t) => {
    t.dropUnique(['id'], 'audit_events_id_unique');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => {
    t.unique(['id'], { indexName: 'audit_events_id_unique' });
  });
  await knex.schema.alterTable('events', (t) => {
    t.unique(['id'], { indexName: 'events_id_unique' });
    t.index(['organization_id', 'seq'], 'events_org_idx');
    t.index(['type', 'seq'], 'events_type_idx');
    t.index(['at'], 'events_at_idx');
  });
}
