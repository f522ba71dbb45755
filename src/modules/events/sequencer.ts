import type { Db } from '../../platform/db.js';
import { dialectOf, selectRows } from '../../platform/db.js';
import { inTransaction } from '../../platform/transaction.js';

/** Any constant works; it only has to be the same in every instance sharing the database. */
const SEQUENCER_LOCK_KEY = 7_242_010_002;

/**
 * PostgreSQL numbers outbox rows after they commit (migration 300), so event-writing transactions
 * never wait for each other: writers insert rows without a sequence number, and this numbers every
 * committed row that has none, in the order the rows were written, from the sequence `seq` used to
 * draw from. Readers (the event feed, webhook fan-out) call it first and then read numbered rows only.
 *
 * Readers advance a cursor past every number they have seen, so a number must never become visible
 * after a higher one. Numbers are handed out only here, under a transaction-scoped advisory lock that
 * only sequencers take (never a writer), so each run's numbers are above every earlier run's and
 * commit after them; a row whose transaction commits later is numbered by a later run, above
 * everything numbered so far. It is skipped by no reader and numbered exactly once (the lock makes a
 * second sequencer wait, then its statement sees the first one's numbers).
 *
 * Rows of one run are numbered in insert order: transactions that touch the same user or
 * membership take that row's lock before they emit (`emit` comes after a change's other writes), so
 * the one that waited also wrote its events later. Returns how many rows were numbered. SQLite numbers
 * rows at insert (one writer): nothing to do.
 */
export async function sequenceEvents(db: Db, batch = 10_000): Promise<number> {
  if (dialectOf(db) !== 'pg') return 0;
  let total = 0;
  for (;;) {
    // Cheap when there is nothing to do (a partial index of unnumbered rows): no transaction, no lock.
    const pending = await selectRows<{ one: number }>(db, 'SELECT 1 AS "one" FROM "events" WHERE "seq" IS NULL LIMIT 1', []);
    if (pending.length === 0) return total;
    const numbered = await inTransaction(db, async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(?)', [SEQUENCER_LOCK_KEY]);
      // One block of `c` numbers from the sequence, then row i of the batch gets block start + i.
      // Nobody else draws from this sequence, and the lock keeps sequencers one at a time.
      const r = await trx.raw<{ rowCount: number }>(
        `WITH "batch" AS (SELECT "written" FROM "events" WHERE "seq" IS NULL ORDER BY "written" LIMIT ?),
              "counted" AS (SELECT count(*) AS "c" FROM "batch"),
              "block" AS (SELECT setval('events_seq_seq', nextval('events_seq_seq') + "c" - 1) - "c" AS "base" FROM "counted" WHERE "c" > 0),
              "numbered" AS (SELECT "written", row_number() OVER (ORDER BY "written") AS "n" FROM "batch")
         UPDATE "events" e SET "seq" = "block"."base" + "numbered"."n"
           FROM "numbered", "block" WHERE e."written" = "numbered"."written"`,
        [batch],
      );
      return r.rowCount;
    });
    total += numbered;
    if (numbered < batch) return total;
  }
}
