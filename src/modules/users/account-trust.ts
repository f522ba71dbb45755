import { randomUUID } from 'node:crypto';
import type { Executor } from '../../platform/db.js';

/**
 * The trust rule between connections (SPEC §2): an email is a claim, not an identity. A connection
 * may give an account an email, or find an account by email, only in domains it has verified; an
 * account whose email it has not verified is bound to it alone (`users.bound_connection_id`).
 */

export const domainOf = (email: string): string | null => {
  const at = email.lastIndexOf('@');
  return at > 0 && at < email.length - 1 ? email.slice(at + 1).toLowerCase() : null;
};

/** The subset of `domains` verified for this connection. */
export async function verifiedDomainsOf(exec: Executor, connectionId: string, domains: Iterable<string>): Promise<Set<string>> {
  const wanted = [...new Set(domains)];
  if (wanted.length === 0) return new Set();
  const rows = await exec('connection_domains').where({ connection_id: connectionId }).whereIn('domain', wanted).pluck('domain');
  return new Set(rows.map(String));
}

/** The first of these emails whose domain this connection has verified, if any. */
export async function firstVerifiedEmail(exec: Executor, connectionId: string, emails: Array<string | null | undefined>): Promise<string | null> {
  const list = emails.filter((e): e is string => !!e && domainOf(e) !== null);
  const verified = await verifiedDomainsOf(exec, connectionId, list.map((e) => domainOf(e)!));
  return list.find((e) => verified.has(domainOf(e)!)) ?? null;
}

export interface AccountRow {
  email_lower: string;
  bound_connection_id: string | null;
}

/**
 * Whether a connection speaks for the account as a whole (its name, email, active state and
 * sessions): the account is bound to it, or its email is in a domain it verified. A connection
 * without authority still changes its own identity, SCIM record and the memberships of the
 * organizations it governs — never what another connection's people see.
 */
export async function hasAuthority(exec: Executor, connectionId: string, userId: string): Promise<boolean> {
  const user = await exec('users').where({ id: userId }).first<AccountRow | undefined>('email_lower', 'bound_connection_id');
  return !!user && (await authorityOver(exec, connectionId, user));
}

/** `hasAuthority` for an account row already read. */
export async function authorityOver(exec: Executor, connectionId: string, user: AccountRow): Promise<boolean> {
  if (user.bound_connection_id) return user.bound_connection_id === connectionId;
  const domain = domainOf(user.email_lower);
  return !!domain && (await verifiedDomainsOf(exec, connectionId, [domain])).has(domain);
}

/** `authorityOver` with the connection's verified domains already read (all of them). */
export function authorityGiven(connectionId: string, user: AccountRow, verifiedDomains: ReadonlySet<string>): boolean {
  if (user.bound_connection_id) return user.bound_connection_id === connectionId;
  const domain = domainOf(user.email_lower);
  return !!domain && verifiedDomains.has(domain);
}

/**
 * Accounts a connection may link to by email: `email` must be in a domain the connection verified
 * (the caller checks), and the account is either unbound (its email was set by the domain's owner)
 * or bound to this very connection. Oldest first.
 */
export function linkableByEmail(exec: Executor, connectionId: string, emails: string[]) {
  return exec('users')
    .whereIn('email_lower', emails.map((e) => e.toLowerCase()))
    .where((q) => q.whereNull('bound_connection_id').orWhere('bound_connection_id', connectionId))
    .orderBy('created_at')
    .select<Array<{ id: string; email_lower: string }>>('id', 'email_lower');
}

export interface TrustFinding {
  user_id: string;
  email: string;
  /** The connection that verified the email's domain, if any. */
  domain_owner: string | null;
  /** Connections that reach the account through an identity or a SCIM user. */
  connections: string[];
  /** What fixing it does: bind the account to its only connection, or split it per connection. */
  action: 'bind' | 'split';
}

interface Link {
  user_id: string;
  connection_id: string;
  first_at: string;
}

/**
 * Unbound accounts that a connection reached without owning the email's domain — written before the
 * trust rule, or left when a domain changed hands. Read-only.
 */
export async function findTrustViolations(exec: Executor): Promise<TrustFinding[]> {
  const identityLinks = await exec('identities as i')
    .join('users as u', 'u.id', 'i.user_id')
    .whereNull('u.bound_connection_id')
    .groupBy('i.user_id', 'i.connection_id')
    .select<Link[]>('i.user_id', 'i.connection_id', exec.raw('MIN(i.created_at) as first_at'));
  const scimLinks = await exec('scim_users as s')
    .join('directories as d', 'd.id', 's.directory_id')
    .join('users as u', 'u.id', 's.user_id')
    .whereNull('u.bound_connection_id')
    .groupBy('s.user_id', 'd.connection_id')
    .select<Link[]>('s.user_id', 'd.connection_id', exec.raw('MIN(s.created_at) as first_at'));
  const byUser = new Map<string, Map<string, string>>();
  for (const l of [...identityLinks, ...scimLinks]) {
    const m = byUser.get(l.user_id) ?? new Map<string, string>();
    const seen = m.get(l.connection_id);
    if (!seen || l.first_at < seen) m.set(l.connection_id, l.first_at);
    byUser.set(l.user_id, m);
  }
  if (byUser.size === 0) return [];
  const owners = new Map<string, string>();
  for (const r of await exec('connection_domains').select<Array<{ domain: string; connection_id: string }>>('domain', 'connection_id')) owners.set(r.domain, r.connection_id);
  const findings: TrustFinding[] = [];
  const ids = [...byUser.keys()];
  for (let i = 0; i < ids.length; i += 500) {
    const users = await exec('users').whereIn('id', ids.slice(i, i + 500)).select<Array<{ id: string; email: string; email_lower: string }>>('id', 'email', 'email_lower');
    for (const u of users) {
      const links = byUser.get(u.id)!;
      const domain = domainOf(u.email_lower);
      const owner = (domain && owners.get(domain)) || null;
      const strangers = [...links.keys()].filter((c) => c !== owner);
      if (strangers.length === 0) continue;
      // Oldest link first: when no linker owns the domain, the first one keeps the account.
      const connections = [...links.entries()].sort((a, b) => a[1].localeCompare(b[1])).map(([c]) => c);
      findings.push({ user_id: u.id, email: u.email, domain_owner: owner, connections, action: links.size === 1 ? 'bind' : 'split' });
    }
  }
  return findings;
}

export interface DetachResult {
  user_id: string;
  kept_by: string | null;
  bound_to: string | null;
  split: Array<{ connection_id: string; new_user_id: string }>;
}

/**
 * Makes one finding conform, never merging anything: the account stays with the domain's owner
 * (or, when no linker owns the domain, with the first connection that reached it, bound to it), and
 * every other connection's identities, SCIM users, tombstones, memberships and removal records in
 * the organizations it governs move to a new account bound to that connection. The account's
 * sessions end. Run it inside a transaction.
 */
export async function detachAccount(trx: Executor, f: TrustFinding, now: string, newId: () => string = randomUUID): Promise<DetachResult> {
  const keeper = f.domain_owner && f.connections.includes(f.domain_owner) ? f.domain_owner : f.connections[0]!;
  const boundTo = keeper === f.domain_owner ? null : keeper;
  if (boundTo) await trx('users').where({ id: f.user_id }).update({ bound_connection_id: boundTo, updated_at: now });
  const split: DetachResult['split'] = [];
  const user = await trx('users').where({ id: f.user_id }).first();
  for (const connectionId of f.connections.filter((c) => c !== keeper)) {
    const id = newId();
    await trx('users').insert({ ...user, id, bound_connection_id: connectionId, created_at: now, updated_at: now });
    await trx('identities').where({ user_id: f.user_id, connection_id: connectionId }).update({ user_id: id });
    const directoryIds = trx('directories').where({ connection_id: connectionId }).select('id');
    await trx('scim_users').where({ user_id: f.user_id }).whereIn('directory_id', directoryIds).update({ user_id: id });
    await trx('scim_user_tombstones').where({ user_id: f.user_id }).whereIn('directory_id', trx('directories').where({ connection_id: connectionId }).select('id')).update({ user_id: id });
    const governed = () => trx('organizations').where({ connection_id: connectionId }).select('id');
    await trx('memberships').where({ user_id: f.user_id }).whereIn('organization_id', governed()).update({ user_id: id });
    await trx('removal_records').where({ user_id: f.user_id }).whereIn('organization_id', governed()).update({ user_id: id });
    split.push({ connection_id: connectionId, new_user_id: id });
  }
  await trx('sessions').where({ user_id: f.user_id }).delete();
  return { user_id: f.user_id, kept_by: keeper, bound_to: boundTo, split };
}
