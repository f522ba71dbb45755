import { insertRows, selectRows, type Trx } from '../../platform/db.js';
import type { IdGenerator } from '../../platform/ids.js';
import { lockKeys } from '../../platform/transaction.js';

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

const domainOf = (email: string): string | null => {
  const at = email.lastIndexOf('@');
  return at > 0 && at < email.length - 1 ? email.slice(at + 1) : null;
};

/**
 * SPEC §2 linking, the same rule login uses: (1) an identity of this connection whose external id is
 * the SCIM externalId; else (2) a user whose email is the lower-cased userName or primary email, only
 * when that email's domain is verified for this connection (an IdP cannot claim accounts in domains it
 * does not own); else (3) a new user.
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
  if (candidates.length) {
    const domains = [...new Set(candidates.map((e) => domainOf(e)!))];
    const rows = await selectRows<{ domain: string }>(
      trx,
      `SELECT "domain" FROM "connection_domains" WHERE "connection_id" = ? AND "domain" IN (${domains.map(() => '?').join(', ')})`,
      [connectionId, ...domains],
    );
    const verified = new Set(rows.map((r) => r.domain));
    const allowed = candidates.filter((e) => verified.has(domainOf(e)!));
    if (allowed.length) {
      const users = await trx('users').whereIn('email_lower', allowed).orderBy('created_at').select<Array<{ id: string; email_lower: string }>>('id', 'email_lower');
      // userName first, then the primary email, as the rule orders them.
      for (const email of allowed) {
        const user = users.find((u) => u.email_lower === email);
        if (user) return { userId: user.id, created: false };
      }
    }
  }
  const id = ids.uuid();
  const email = f.primaryEmail ?? f.userName;
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
  }]);
  return { userId: id, created: true };
}

/** Keeps the global user's name, email and active flag in step with the IdP's record. */
export async function syncGlobalUser(trx: Trx, userId: string, f: GlobalUserFields, now: string): Promise<void> {
  const email = f.primaryEmail ?? f.userName;
  await trx('users').where({ id: userId }).update({
    email,
    email_lower: email.toLowerCase(),
    name: f.name,
    given_name: f.givenName,
    family_name: f.familyName,
    active: f.active,
    updated_at: now,
  });
}
