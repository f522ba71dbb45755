import type { Container } from '../../container.js';
import type { Trx } from '../../platform/db.js';
import { dialectOf } from '../../platform/db.js';
import type { Actor } from '../audit/types.js';
import { touchDirectory } from '../directories/queries.js';
import { preconditionFailed, uniqueness } from './errors.js';
import { isUniqueViolation } from '../../platform/db-errors.js';
import { etagOf } from './user-view.js';
import { inTransaction } from '../../platform/transaction.js';

/** One authenticated SCIM request: which directory, for whom, and when it arrived. */
export interface ScimContext {
  directoryId: string;
  connectionId: string;
  /** `${PUBLIC_URL}/scim/v2/{directory}` */
  baseUrl: string;
  actor: Actor;
  at: string;
  /** This process's claim on each directory's latest second of activity (shared by the requests of one app). */
  activity: Map<string, ActivityClaim>;
  /**
   * Several client connections are sending SCIM requests at once. Reads may then run off the request
   * thread (on SQLite, the background connection): throughput over latency. A lone client sending
   * one request at a time keeps the lower-latency path.
   */
  concurrent?: boolean;
}

/**
 * The write that records a directory's activity for a second (`at`), and how that stands: `claimed`
 * while it runs, `recorded` once that second is in the directory row, `given back` when it failed.
 * `others` counts the writes of that second that committed without recording it meanwhile.
 */
export interface ActivityClaim {
  at: string;
  state: 'claimed' | 'recorded' | 'given back';
  others: number;
}

/** `If-Match: *`, `W/"3"`, `"3"`, or a list of them. */
export function checkIfMatch(ifMatch: string | undefined, version: number): void {
  if (!ifMatch) return;
  if (!etagListed(ifMatch, etagOf(version))) throw preconditionFailed();
}

/** Whether an `If-Match`/`If-None-Match` list (`*`, `W/"3"`, `"3"`) names this ETag (weak comparison). */
export function etagListed(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = etag.startsWith('W/') ? etag.slice(2) : etag;
  return header.split(',').some((raw) => {
    const w = raw.trim();
    return w === '*' || w === etag || w === bare || (w.startsWith('W/') && w.slice(2) === bare);
  });
}

/**
 * The constraints SCIM writes rely on instead of looking the value up first: a violation is another
 * resource already holding that `userName` or `displayName`, which running again cannot change.
 */
const TAKEN_NAMES = new Set(['scim_users_dir_username_unique', 'scim_groups_dir_display_unique']);
const mayBeRace = (err: unknown): boolean => !TAKEN_NAMES.has(String((err as { constraint?: unknown }).constraint));

/**
 * Runs a SCIM write in one transaction (the lifecycle listener, audit and events share it), records
 * directory activity, and maps unique-constraint failures on either database to 409 uniqueness.
 * A transaction that lost a find-or-create race with another instance (PostgreSQL: a linked account
 * or membership inserted meanwhile) runs again before that mapping applies; a name that is simply
 * taken is answered at once. `together`: the write may share a transaction with others arriving
 * with it (TransactionOptions.together), unless it is the one recording the directory's activity.
 */
export async function write<T>(c: Container, ctx: ScimContext, what: string, fn: (trx: Trx) => Promise<T>, options: { together?: boolean } = {}): Promise<T> {
  // Activity is reported to the second: a burst of writes updates the directory row once a second.
  // The write that will record it claims the second before its transaction starts, so writes of this
  // process arriving while it runs do not update the row as well (each would wait for the one
  // before it to commit: the row's lock is held to the end of the transaction). If it fails, the
  // second is still recorded when a write that skipped it committed (before or after the failure),
  // in an update of its own; otherwise the claim is given back and the next write records it.
  const last = ctx.activity.get(ctx.directoryId);
  const touch = last === undefined || last.at.slice(0, 19) !== ctx.at.slice(0, 19);
  const claim: ActivityClaim = touch ? { at: ctx.at, state: 'claimed', others: 0 } : last;
  if (touch) ctx.activity.set(ctx.directoryId, claim);
  try {
    const result = await inTransaction(
      c.db,
      async (trx) => {
        // The directory row first, before any other lock this write takes: a lock taken after the
        // row's could otherwise wait on a transaction that waits for the row (on PostgreSQL a PATCH
        // and a create of one directory deadlocked that way when creates took a global outbox lock).
        // Creates themselves no longer lock the row on PostgreSQL (count slots, migration 301).
        if (touch) await touchDirectory(trx, ctx.directoryId, ctx.at);
        return fn(trx);
      },
      // A write that updates the directory row runs alone: that row's lock must come first.
      { retryUniqueViolation: mayBeRace, together: options.together === true && !touch },
    );
    if (touch) claim.state = 'recorded';
    else if (claim.state === 'claimed') claim.others++;
    else if (claim.state === 'given back') await recordClaim(c, ctx, claim);
    return result;
  } catch (err) {
    if (touch) {
      if (claim.others > 0) await recordClaim(c, ctx, claim);
      else {
        claim.state = 'given back';
        if (ctx.activity.get(ctx.directoryId) === claim) {
          if (last === undefined) ctx.activity.delete(ctx.directoryId);
          else ctx.activity.set(ctx.directoryId, last);
        }
      }
    }
    if (isUniqueViolation(err)) throw uniqueness(`${what} is already taken in this directory.`);
    throw err;
  }
}

/**
 * Records a claimed second for the writes that committed in it after the write that claimed it
 * failed: an update of its own. If that fails too, the claim stays given back (the next write of the
 * second records it).
 */
async function recordClaim(c: Container, ctx: ScimContext, claim: ActivityClaim): Promise<void> {
  claim.state = 'recorded';
  try {
    await inTransaction(c.db, (trx) => touchDirectory(trx, ctx.directoryId, claim.at));
    const current = ctx.activity.get(ctx.directoryId);
    if (current === undefined || current.at < claim.at) ctx.activity.set(ctx.directoryId, claim);
  } catch {
    claim.state = 'given back';
  }
}

/** Row lock on PostgreSQL so concurrent PATCHes of one resource apply in turn; SQLite has one writer anyway. */
export const lockable = (trx: Trx) => dialectOf(trx) === 'pg';
