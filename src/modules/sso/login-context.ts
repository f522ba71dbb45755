import type { Trx } from '../../platform/db.js';
import { dialectOf, selectRowsTogether } from '../../platform/db.js';
import { LOCK_KEYS_SQL, lockKeys } from '../../platform/transaction.js';
import { directoryOfConnection, PLAN_INPUT_COLUMNS, planInputCtes, planInputsFromRow, type PlanInputColumns, type PlanInputs } from '../membership-sync/queries.js';
import type { AccountRow } from '../users/account-trust.js';
import * as q from './identity-queries.js';

/** What a sign-in reads before it decides anything (see readLoginContext). */
export interface LoginContext {
  directoryId: string | null;
  identity: Pick<q.IdentityRow, 'id' | 'user_id'> | undefined;
  /**
   * Read ahead (PostgreSQL), for the account the sign-in will most likely be: the identity's, or
   * without one (and without a directory, whose SCIM users come first) the account the email may
   * link to. Absent on SQLite, where each read is a cheap call of its own.
   */
  ahead?: {
    /** The first account the email may link to (as `linkableByEmail`); read only without an identity. */
    linkableId: string | null;
    candidateId: string | null;
    /** The candidate's account row, for the authority check. */
    account: AccountRow | null;
    /** The connection's verified domains. */
    verifiedDomains: Set<string>;
    /** The candidate's plan inputs (the connection's organizations alone when there is none). */
    plan: PlanInputs;
  };
}

interface ContextRow extends PlanInputColumns {
  identity_id: string | null;
  identity_user_id: string | null;
  linkable_id: string | null;
  candidate_id: string | null;
  email_lower: string | null;
  bound_connection_id: string | null;
  verified_domains: string[];
}

/**
 * Takes the sign-in's lock, then reads the identity, the connection's directory and — on
 * PostgreSQL, in the same statement — what the rest of a sign-in reads about the account it most
 * likely signs in to: on PostgreSQL one round trip (with the BEGIN and the lock) where there were
 * nine. `linkByEmail`: whether the login's email may link an account (trusted, in a verified domain).
 */
export async function readLoginContext(trx: Trx, connectionId: string, subject: string, email: string, linkByEmail: boolean, lock: string[]): Promise<LoginContext> {
  if (dialectOf(trx) !== 'pg') {
    await lockKeys(trx, lock);
    const directoryId = await directoryOfConnection(trx, connectionId);
    const identity = await q.findIdentity(trx, connectionId, subject);
    return { directoryId, identity };
  }
  const sql = `WITH "idn" AS (SELECT "id", "user_id" FROM "identities" WHERE "connection_id" = ?::text AND "subject" = ?::text LIMIT 1),
  "lnk" AS (SELECT "id" FROM "users" WHERE "email_lower" = ?::text AND ("bound_connection_id" IS NULL OR "bound_connection_id" = ?::text) AND NOT EXISTS (SELECT 1 FROM "idn") ORDER BY "created_at" LIMIT 1),
  ${planInputCtes(`SELECT coalesce((SELECT "user_id" FROM "idn"), CASE WHEN ?::boolean AND NOT EXISTS (SELECT 1 FROM "pi_dir") THEN (SELECT "id" FROM "lnk") END)`)}
SELECT (SELECT "id" FROM "idn") AS "identity_id", (SELECT "user_id" FROM "idn") AS "identity_user_id", (SELECT "id" FROM "lnk") AS "linkable_id",
  (SELECT "id" FROM "pi_user") AS "candidate_id", u."email_lower", u."bound_connection_id",
  (SELECT coalesce(json_agg(d."domain"), '[]'::json) FROM "connection_domains" d WHERE d."connection_id" = (SELECT "id" FROM "pi_conn")) AS "verified_domains",
  ${PLAN_INPUT_COLUMNS}
FROM (SELECT 1) AS "one" LEFT JOIN "users" u ON u."id" = (SELECT "id" FROM "pi_user")`;
  // After the lock, in the same round trip (with the BEGIN): this read sees what its holder committed.
  const [, rows] = await selectRowsTogether(trx, [
    { sql: `SELECT ${LOCK_KEYS_SQL} AS "locks"`, bindings: [[...new Set(lock)]] },
    { sql, bindings: [connectionId, subject, email.toLowerCase(), connectionId, connectionId, linkByEmail] },
  ]);
  // One row always (FROM a one-row relation).
  const r = rows![0] as ContextRow;
  const plan = planInputsFromRow(r);
  return {
    directoryId: plan.directoryId,
    identity: r.identity_id ? { id: r.identity_id, user_id: r.identity_user_id! } : undefined,
    ahead: {
      linkableId: r.linkable_id,
      candidateId: r.candidate_id,
      account: r.email_lower === null ? null : { email_lower: r.email_lower, bound_connection_id: r.bound_connection_id },
      verifiedDomains: new Set(r.verified_domains),
      plan,
    },
  };
}
