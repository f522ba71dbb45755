import type { Knex } from 'knex';

/**
 * PostgreSQL: outbox writers no longer take the event sequence number. They insert rows without one
 * (`seq` NULL, `written` in insert order); a sequencer numbers committed rows afterwards, one
 * sequencer at a time (see events/sequencer.ts), from the same sequence the column used before, so
 * cursors handed out earlier stay valid. SQLite keeps assigning `seq` at insert: a single writer
 * commits in insert order already.
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  await knex.raw('ALTER TABLE "events" ADD COLUMN "written" bigserial');
  await knex.raw('ALTER TABLE "events" DROP CONSTRAINT "events_pkey"');
  await knex.raw('ALTER TABLE "events" ALTER COLUMN "seq" DROP DEFAULT, ALTER COLUMN "seq" DROP NOT NULL');
  await knex.raw('ALTER TABLE "events" ADD CONSTRAINT "events_pkey" PRIMARY KEY ("written")');
  await knex.raw('CREATE UNIQUE INDEX "events_seq_unique" ON "events" ("seq")');
  await knex.raw('CREATE INDEX "events_unsequenced_idx" ON "events" ("written") WHERE "seq" IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  // Number what is still unnumbered, in the order it was written, so no event is lost or left without a cursor.
  await knex.raw(`UPDATE "events" e SET "seq" = n."seq" FROM (
      SELECT "written", nextval('events_seq_seq') AS "seq" FROM (SELECT "written" FROM "events" WHERE "seq" IS NULL ORDER BY "written") w
    ) n WHERE e."written" = n."written"`);
  await knex.raw('DROP INDEX "events_unsequenced_idx"');
  await knex.raw('DROP INDEX "events_seq_unique"');
  await knex.raw('ALTER TABLE "events" DROP CONSTRAINT "events_pkey"');
  await knex.raw(`ALTER TABLE "events" ALTER COLUMN "seq" SET NOT NULL, ALTER COLUMN "seq" SET DEFAULT nextval('events_seq_seq')`);
  await knex.raw('ALTER TABLE "events" ADD CONSTRAINT "events_pkey" PRIMARY KEY ("seq")');
  await knex.raw('ALTER TABLE "events" DROP COLUMN "written"');
}
