import { insertRows, selectRows, type Trx } from '../../platform/db.js';
import type { IdGenerator } from '../../platform/ids.js';
import { lockKeys } from '../../platform/transaction.js';
import { authorityOver, domainOf, firstVerifiedEmail, linkableByEmail, verifiedDomainsOf, type AccountRow } from '../users/account-trust.js';

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

/**
 * SPEC §2 linking, the same rule login uses: (1) an identity of this connection whose external id is
 * the SCIM externalId; else (2) an account whose email is the lower-cased userName or primary email,
 * only when that email's domain is verified for this connection and the account's email is not
 * merely another connection's claim; else (3) a new account — bound to this connection alone when
 * none of its emails is in a domain the connection verified (an IdP cannot claim accounts, or plant
 * emails, in domains it does not own).
 */
export async function linkGlobalUser(trx: Trx, connectionId: string, f: GlobalUserFields, ids: IdGenerator, now: string): Promise<{ userId: string; created: boolean }> {
  if (f.externalId) {
    const [identity] = await selectRows<{ user_id: string }>(
      trx,
      'SELECT "user_id" FROM "identities" WHERE "connection_id" = ? AND "external_id" = ? ORDER BY "created_at" LIMIT 1',
      [connectionId, f.externalId],
    );
    if (identity) return { userId: identity.user_id, created: false };
  }
  const candidates = [...new Set([f.userName.toLowerCase(), f.primaryEmail?.toLowerCase()].filter((e): e is string => !!e && domainOf(e) !== null))];
  // The same lock a sign-in takes: a login racing this create links to one account, not two.
  await lockKeys(trx, [...candidates, (f.primaryEmail ?? f.userName).toLowerCase()].map((e) => `user-email:${e}`));
  const verified = await verifiedDomainsOf(trx, connectionId, candidates.map((e) => domainOf(e)!));
  const allowed = candidates.filter((e) => verified.has(domainOf(e)!));
  if (allowed.length) {
    const users = await linkableByEmail(trx, connectionId, allowed);
    // userName first, then the primary email, as the rule orders them.
    for (const email of allowed) {
      const user = users.find((u) => u.email_lower === email);
      if (user) return { userId: user.id, created: false };
    }
  }
  const id = ids.uuid();
  // A verified email is preferred; otherwise the account keeps the IdP's email as its own claim.
  const email = allowed.length ? (allowed.includes(f.primaryEmail?.toLowerCase() ?? '') ? f.primaryEmail! : f.userName) : (f.primaryEmail ?? f.userName);
  await insertRows(trx, 'users', [{
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
  }]);
  return { userId: id, created: true };
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
