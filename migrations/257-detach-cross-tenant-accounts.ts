import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { detachAccount, findTrustViolations } from '../src/modules/users/account-trust.js';

/**
 * Data written before the trust rule: accounts that a connection reached by an email in a domain it
 * had not verified. Each is bound to its only connection, or split per connection with the domain's
 * owner keeping the original; nothing is merged. Every change is in the audit log as
 * `user.detached` (actor `system`), and `orgsync accounts check` lists what is left.
 */
export async function up(knex: Knex): Promise<void> {
  const findings = await findTrustViolations(knex);
  const now = new Date().toISOString();
  for (const f of findings) {
    const result = await detachAccount(knex, f, now);
    await knex('audit_events').insert({
      id: randomUUID(),
      at: now,
      actor_type: 'system',
      actor_id: 'migration:257',
      action: 'user.detached',
      organization_id: null,
      target_user_id: f.user_id,
      detail: JSON.stringify({ reason: 'email_domain_not_verified_by_connection', email: f.email, domain_owner: f.domain_owner, ...result }),
    });
  }
}

/** Splitting accounts is not undone: merging them back would recreate the cross-tenant link. */
export async function down(): Promise<void> {}
