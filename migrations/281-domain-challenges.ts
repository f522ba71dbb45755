import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // DNS TXT proofs of domain ownership, for a connection (operators) or a setup link (customers).
  await knex.schema.createTable('domain_challenges', (t) => {
    t.string('id', 36).primary();
    t.string('owner_kind', 20).notNullable();
    t.string('owner_id', 36).notNullable();
    t.string('domain', 253).notNullable();
    t.string('value', 100).notNullable();
    t.string('status', 20).notNullable().defaultTo('pending');
    t.string('created_at', 32).notNullable();
    t.string('last_checked_at', 32);
    t.string('verified_at', 32);
    t.unique(['owner_kind', 'owner_id', 'domain'], { indexName: 'domain_challenges_owner_domain_unique' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('domain_challenges');
}
