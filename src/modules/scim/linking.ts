import { dialectOf, insertRows, parseJson, selectRowsTogether, type Trx } from '../../platform/db.js';
import type { IdGenerator } from '../../platform/ids.js';
import type { UserRow } from '../users/queries.js';
import { LOCK_KEYS_SQL } from '../../platform/transaction.js';
import { sendWithNext } from '../../platform/pg-transactions.js';
import type { Knex } from 'knex';
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
 * rows, in one statement on PostgreSQL: `insertBatch`). `known`: told what was read, for `guessNewAccount`.
 */
export async function planGlobalUser(trx: Trx, connectionId: string, f: GlobalUserFields, ids: IdGenerator, now: string, known?: KnownConnections): Promise<LinkPlan> {
  const { candidates, lockKeys } = linkKeys(f);
  const domains = candidates.map((e) => domainOf(e)!);
  // The accounts are read for every candidate email and kept only where the domain is verified:
  // both reads then go to the database together, the second after the locks are granted.
  const [factRows, found] = (await selectRowsTogether(trx, [
    linkingFacts(trx, connectionId, lockKeys, domains),
    linkTargets(connectionId, f.externalId, candidates),
  ])) as [Array<{ domains: string | string[] | null; membership_sync: string | null }>, LinkTarget[]];
  const verified = new Set((parseJson<string[] | null>(factRows[0]?.domains ?? null, null) ?? []).map(String));
  const membershipSync = factRows[0]?.membership_sync ?? undefined;
  const plan = decide(connectionId, f, candidates, verified, membershipSync, found, ids, now);
  known?.learn(connectionId, domains, verified, membershipSync, plan.created);
  return plan;
}

/** The emails the rule may link by (those with a domain), and the lock keys a sign-in takes for them. */
function linkKeys(f: GlobalUserFields): { candidates: string[]; lockKeys: string[] } {
  const candidates = [...new Set([f.userName.toLowerCase(), f.primaryEmail?.toLowerCase()].filter((e): e is string => !!e && domainOf(e) !== null))];
  const lockKeys = [...new Set([...candidates, (f.primaryEmail ?? f.userName).toLowerCase()])].map((e) => `user-email:${e}`);
  return { candidates, lockKeys };
}

/** The rule itself, on what was read: `found` are the identity and the accounts by email, oldest first. */
function decide(connectionId: string, f: GlobalUserFields, candidates: string[], verified: Set<string>, membershipSync: string | undefined, found: LinkTarget[], ids: IdGenerator, now: string): LinkPlan {
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

/**
 * What the last `planGlobalUser` of each connection read (per email domain: verified or not; the
 * sync mode) and whether it made a new account. Per process; bounded (a connection's entry is
 * dropped, not grown, past DOMAINS_KEPT domains; the oldest connection's past CONNECTIONS_KEPT).
 * Nothing here is trusted: `guessNewAccount` checks all of it in the write's own transaction.
 */
export class KnownConnections {
  private static readonly CONNECTIONS_KEPT = 1000;
  private static readonly DOMAINS_KEPT = 256;
  private readonly byId = new Map<string, { membershipSync: string | undefined; domains: Map<string, boolean>; newAccounts: boolean }>();

  learn(connectionId: string, domains: string[], verified: Set<string>, membershipSync: string | undefined, created: boolean): void {
    let entry = this.byId.get(connectionId);
    if (!entry || entry.membershipSync !== membershipSync || entry.domains.size + domains.length > KnownConnections.DOMAINS_KEPT) {
      this.byId.delete(connectionId);
      if (this.byId.size >= KnownConnections.CONNECTIONS_KEPT) this.byId.delete(this.byId.keys().next().value!);
      entry = { membershipSync, domains: new Map(), newAccounts: created };
      this.byId.set(connectionId, entry);
    }
    for (const d of domains) entry.domains.set(d, verified.has(d));
    entry.newAccounts = created;
  }

  forget(connectionId: string): void {
    this.byId.delete(connectionId);
  }

  /** The facts to plan a new account on, when the connection's last create made one and every domain is known. */
  guess(connectionId: string, domains: string[]): { verified: Set<string>; membershipSync: string | undefined } | undefined {
    const entry = this.byId.get(connectionId);
    if (!entry?.newAccounts || !domains.every((d) => entry.domains.has(d))) return undefined;
    return { verified: new Set(domains.filter((d) => entry.domains.get(d))), membershipSync: entry.membershipSync };
  }
}

/**
 * PostgreSQL, a SCIM create in a directory's initial sync: most users link to nothing (they are new
 * people), and a connection's domains and sync mode do not change between two creates. When the
 * connection's last create made a new account and every email domain is known (`known`), the
 * account is planned from that, without reading, and two statements are held to go with the write's
 * inserts and COMMIT in one message — one round trip instead of two: the email locks, then (its own
 * snapshot, so it sees what the locks' last holder committed) `orgsync_expect` of everything the plan
 * assumed: no identity with this externalId; no account with these emails that is unbound or bound
 * to this connection (whatever its domain: stricter than the rule, which would skip one in an
 * unverified domain); the same verified domains and sync mode. If any of it no longer holds, the message fails there and
 * nothing is written (`isExpectationFailed`): the caller runs the write again with `planGlobalUser`.
 *
 * Undefined when there is nothing to go on, on SQLite (no round trips to save), or when the
 * connection applies SCIM grants through its rules (`scim_and_login`: the write reads them anyway).
 */
export async function guessNewAccount(trx: Trx, connectionId: string, f: GlobalUserFields, ids: IdGenerator, now: string, known: KnownConnections): Promise<LinkPlan | undefined> {
  if (dialectOf(trx) !== 'pg') return undefined;
  const { candidates, lockKeys } = linkKeys(f);
  const domains = candidates.map((e) => domainOf(e)!);
  const facts = known.guess(connectionId, domains);
  if (!facts || facts.membershipSync === 'scim_and_login') return undefined;
  const conditions = ['(SELECT "membership_sync" FROM "connections" WHERE "id" = ?) IS NOT DISTINCT FROM ?'];
  const bindings: unknown[] = [connectionId, facts.membershipSync ?? null];
  const unique = [...new Set(domains)];
  const verified = unique.filter((d) => facts.verified.has(d));
  const unverified = unique.filter((d) => !facts.verified.has(d));
  conditions.push('(SELECT count(*) FROM "connection_domains" WHERE "connection_id" = ? AND "domain" = ANY(?::text[])) = ?');
  bindings.push(connectionId, verified, verified.length);
  conditions.push('NOT EXISTS (SELECT 1 FROM "connection_domains" WHERE "connection_id" = ? AND "domain" = ANY(?::text[]))');
  bindings.push(connectionId, unverified);
  if (f.externalId) {
    conditions.push('NOT EXISTS (SELECT 1 FROM "identities" WHERE "connection_id" = ? AND "external_id" = ?)');
    bindings.push(connectionId, f.externalId);
  }
  if (candidates.length) {
    // `IN (?, ?)`, as linkTargets reads them: with `= ANY(array)` a generic plan may scan the table.
    conditions.push(`NOT EXISTS (SELECT 1 FROM "users" WHERE "email_lower" IN (${candidates.map(() => '?').join(', ')}) AND ("bound_connection_id" IS NULL OR "bound_connection_id" = ?))`);
    bindings.push(...candidates, connectionId);
  }
  const held = await sendWithNext(trx as Knex, [
    { sql: `SELECT ${LOCK_KEYS_SQL} AS "locks"`, bindings: [lockKeys] },
    { sql: `SELECT orgsync_expect(${conditions.join(' AND ')})`, bindings },
  ]);
  if (!held) return undefined;
  return decide(connectionId, f, candidates, facts.verified, facts.membershipSync, [], ids, now);
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
