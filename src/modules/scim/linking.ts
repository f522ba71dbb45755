import { dialectOf, insertRows, parseJson, selectRowsTogether, type Trx } from '../../platform/db.js';
import type { IdGenerator } from '../../platform/ids.js';
import type { UserRow } from '../users/queries.js';
import { LOCK_KEYS_SQL } from '../../platform/transaction.js';
import { authorityOver, domainOf, firstVerifiedEmail, type AccountRow } from '../users/account-trust.js';

/** What the linking rule and the global user need from a SCIM user. */
export interface GlobalUserFields {
  externalId: string | null;
  userName: string;
  primaryEmail: string | null;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  active: boolean;
}

/** A new account's row, as `planGlobalUser` decided it (the caller inserts it). */
export type AccountInsert = Omit<UserRow, 'active' | 'last_login_at' | 'bound_connection_id'> & { active: boolean; last_login_at: null; bound_connection_id: string | null };

export interface LinkPlan {
  userId: string;
  /** The account is new: `account` must be inserted before anything refers to it. */
  created: boolean;
  account?: AccountInsert;
  /** The connection's `membership_sync`, read in the same statement as the locks. */
  membershipSync: string | undefined;
}

/**
 * SPEC §2 linking, the same rule login uses: (1) an identity of this connection whose external id is
 * the SCIM externalId; else (2) an account whose email is the lower-cased userName or primary email,
 * only when that email's domain is verified for this connection and the account's email is not
 * merely another connection's claim; else (3) a new account — bound to this connection alone when
 * none of its emails is in a domain the connection verified (an IdP cannot claim accounts, or plant
 * emails, in domains it does not own).
 *
 * Two reads, whatever the outcome: the email locks (the ones a sign-in takes, so a login racing this
 * create links to one account, not two) with the connection's verified domains and sync mode, then
 * — with the locks held, so an account committed meanwhile is seen — the identity and the accounts
 * by email. Returns the decision; a new account is left for the caller to insert (with its other
 * rows, in one statement on PostgreSQL: `insertBatch`).
 */
export async function planGlobalUser(trx: Trx, connectionId: string, f: GlobalUserFields, ids: IdGenerator, now: string): Promise<LinkPlan> {
  const candidates = [...new Set([f.userName.toLowerCase(), f.primaryEmail?.toLowerCase()].filter((e): e is string => !!e && domainOf(e) !== null))];
  const lockKeys = [...new Set([...candidates, (f.primaryEmail ?? f.userName).toLowerCase()])].map((e) => `user-email:${e}`);
  // The accounts are read for every candidate email and kept only where the domain is verified:
  // both reads then go to the database together, the second after the locks are granted.
  const [factRows, found] = (await selectRowsTogether(trx, [
    linkingFacts(trx, connectionId, lockKeys, candidates.map((e) => domainOf(e)!)),
    linkTargets(connectionId, f.externalId, candidates),
  ])) as [Array<{ domains: string | string[] | null; membership_sync: string | null }>, LinkTarget[]];
  const verified = new Set((parseJson<string[] | null>(factRows[0]?.domains ?? null, null) ?? []).map(String));
  const membershipSync = factRows[0]?.membership_sync ?? undefined;
  const allowed = candidates.filter((e) => verified.has(domainOf(e)!));
  const identity = found.find((r) => r.via === 'identity');
  if (identity) return { userId: identity.id, created: false, membershipSync };
  // userName first, then the primary email, as the rule orders them.
  for (const email of allowed) {
    const user = found.find((u) => u.via === 'email' && u.email_lower === email);
    if (user) return { userId: user.id, created: false, membershipSync };
  }
  const id = ids.uuid();
  // A verified email is preferred; otherwise the account keeps the IdP's email as its own claim.
  const email = allowed.length ? (allowed.includes(f.primaryEmail?.toLowerCase() ?? '') ? f.primaryEmail! : f.userName) : (f.primaryEmail ?? f.userName);
  const account: AccountInsert = {
    id,
    email,
    email_lower: email.toLowerCase(),
    name: f.name,
    given_name: f.givenName,
    family_name: f.familyName,
    active: f.active,
    created_at: now,
    updated_at: now,
    last_login_at: null,
    bound_connection_id: allowed.length ? null : connectionId,
  };
  return { userId: id, created: true, account, membershipSync };
}

/** `planGlobalUser`, inserting the new account at once. */
export async function linkGlobalUser(trx: Trx, connectionId: string, f: GlobalUserFields, ids: IdGenerator, now: string): Promise<LinkPlan> {
  const plan = await planGlobalUser(trx, connectionId, f, ids, now);
  if (plan.account) await insertRows(trx, 'users', [plan.account]);
  return plan;
}

/**
 * The email locks (PostgreSQL), and — in the same statement, read before the locks are granted,
 * which is fine: the locks do not guard them — which of `domains` the connection verified and its
 * `membership_sync`.
 */
function linkingFacts(trx: Trx, connectionId: string, keys: string[], domains: string[]): { sql: string; bindings: unknown[] } {
  const wanted = [...new Set(domains)];
  return dialectOf(trx) === 'pg'
    ? {
        sql: `SELECT ${LOCK_KEYS_SQL} AS "locks", (SELECT json_agg("domain")::text FROM "connection_domains" WHERE "connection_id" = ? AND "domain" = ANY(?::text[])) AS "domains", (SELECT "membership_sync" FROM "connections" WHERE "id" = ?) AS "membership_sync"`,
        bindings: [keys, connectionId, wanted, connectionId],
      }
    : {
        sql: `SELECT (SELECT json_group_array("domain") FROM "connection_domains" WHERE "connection_id" = ? AND "domain" IN (SELECT "value" FROM json_each(?))) AS "domains", (SELECT "membership_sync" FROM "connections" WHERE "id" = ?) AS "membership_sync"`,
        bindings: [connectionId, JSON.stringify(wanted), connectionId],
      };
}

interface LinkTarget {
  via: 'identity' | 'email';
  id: string;
  email_lower: string | null;
}

/**
 * In one read: this connection's identity with the SCIM externalId, and the accounts the connection
 * may link to by these emails (if their domains are verified, which the caller checks) — unbound, or
 * bound to this very connection — oldest first.
 */
function linkTargets(connectionId: string, externalId: string | null, emails: string[]): { sql: string; bindings: unknown[] } {
  const parts: string[] = [];
  const bindings: unknown[] = [];
  if (externalId) {
    parts.push(`SELECT * FROM (SELECT 'identity' AS "via", "user_id" AS "id", NULL AS "email_lower", "created_at" FROM "identities" WHERE "connection_id" = ? AND "external_id" = ? ORDER BY "created_at" LIMIT 1) AS "i"`);
    bindings.push(connectionId, externalId);
  }
  if (emails.length) {
    parts.push(`SELECT 'email' AS "via", "id", "email_lower", "created_at" FROM "users" WHERE "email_lower" IN (${emails.map(() => '?').join(', ')}) AND ("bound_connection_id" IS NULL OR "bound_connection_id" = ?)`);
    bindings.push(...emails, connectionId);
  }
  // Neither: a statement that finds nothing, so the reads keep their shape.
  if (parts.length === 0) return { sql: `SELECT 'none' AS "via", NULL AS "id", NULL AS "email_lower" WHERE 1 = 0`, bindings: [] };
  return { sql: `${parts.join(' UNION ALL ')} ORDER BY "created_at"`, bindings };
}

/**
 * Keeps the account's name, email and active flag in step with the IdP's record — only where this
 * connection speaks for the account (SPEC §2): an account another connection reached through its
 * own verified domain is never renamed or deactivated from here. A new email is taken only in a
 * domain the connection verified, unless the account is bound to it (then the email is its claim).
 */
export async function syncGlobalUser(trx: Trx, connectionId: string, userId: string, f: GlobalUserFields, now: string): Promise<void> {
  const account = await trx('users').where({ id: userId }).first<AccountRow | undefined>('email_lower', 'bound_connection_id');
  if (!account || !(await authorityOver(trx, connectionId, account))) return;
  const update: Record<string, unknown> = { name: f.name, given_name: f.givenName, family_name: f.familyName, active: f.active, updated_at: now };
  if (account.bound_connection_id === connectionId) {
    const email = f.primaryEmail ?? f.userName;
    Object.assign(update, { email, email_lower: email.toLowerCase() });
  } else {
    const email = await firstVerifiedEmail(trx, connectionId, [f.primaryEmail, f.userName]);
    if (email) Object.assign(update, { email, email_lower: email.toLowerCase() });
  }
  await trx('users').where({ id: userId }).update(update);
}
