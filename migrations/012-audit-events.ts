import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('seq').primary();
    t.string('id', 36).notNullable().unique('audit_events_id_unique');
    t.string('at', 32).notNullable();
    t.string('actor_type', 20).notNullable();
    t.string('actor_id', 200);
    t.string('action', 60).notNullable();
    t.string('organization_id', 36);
    t.string('target_user_id', 36);
    t.text('detail').notNullable();
    t.index(['organization_id', 'seq'], 'audit_events_org_idx');
    t.index(['target_user_id', 'seq'], 'audit_events_user_idx');
    t.index(['action', 'seq'], 'audit_events_action_idx');
    t.index(['at'], 'audit_events_at_idx');
  });
  // Append-only at the database level: the application can neither update nor delete events.
  if (knex.client.config.client === 'pg') {
    await knex.raw(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'audit_events is append-only'; END;
      $$ LANGUAGE plpgsql`);
    await knex.raw(`CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
  } else {
    await knex.raw(`CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
      BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END`);
    await knex.raw(`CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
      BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END`);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_events');
  if (knex.client.config.client === 'pg') await knex.raw('DROP FUNCTION IF EXISTS audit_events_append_only()');
}
