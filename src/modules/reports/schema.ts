import { z } from 'zod';

export const syncRunSchema = z.object({
  id: z.string(),
  trigger: z.enum(['login', 'scim', 'reconcile']),
  user_id: z.string().nullable(),
  connection_id: z.string().nullable(),
  directory_id: z.string().nullable(),
  at: z.string(),
  added: z.array(z.object({ organization_id: z.string(), role: z.string(), user_id: z.string().optional() })),
  updated: z.array(z.object({ organization_id: z.string(), from_role: z.string(), to_role: z.string(), user_id: z.string().optional() })),
  flagged: z.array(z.object({ organization_id: z.string(), reason: z.string(), user_id: z.string().optional() })),
  restored: z.array(z.object({ organization_id: z.string(), user_id: z.string().optional() })),
  skipped: z.array(z.object({ organization_id: z.string(), reason: z.string(), user_id: z.string().optional() })),
  error: z.string().nullable(),
  incomplete: z
    .object({
      reason: z.enum(['groups_overage', 'groups_missing']),
      fallback: z.enum(['directory_groups', 'kept_memberships']),
      held: z.array(z.object({ organization_id: z.string(), withheld: z.enum(['flag', 'role_change']) })),
    })
    .nullable()
    .describe('Set when a login sync ran on an incomplete group list (Entra group overage, no groups attribute): it flagged nothing and lowered no role; `held` lists what a complete list could have changed.'),
  group_matching: z
    .object({
      unmatched: z
        .object({
          attributes: z.array(z.object({ name: z.string(), mapped: z.boolean(), count: z.number(), sample: z.array(z.string()) })),
          would_match_by_cn: z.array(z.string()),
          would_match_if_mapped: z.array(z.string()),
        })
        .nullable()
        .describe('The login carried group-like attributes and no membership rule matched any of their values: at most 5 attributes with 5 sample values each, and which rule groups `group_dn_match: cn` or mapping the attribute would have matched.'),
      matched_by_cn: z.array(z.object({ group: z.string(), dns: z.array(z.string()) })).describe('Rule groups matched only through a DN\'s CN (`group_dn_match: cn`).'),
    })
    .nullable()
    .describe('Login runs: what the login\'s groups matched, when there is something to say; null otherwise.'),
});

/** A connection's group-matching warnings over its newest logins (since its settings last changed). */
export const groupWarningsSchema = z
  .object({
    logins_checked: z.number(),
    unmatched: z
      .object({
        logins: z.number(),
        last_at: z.string(),
        attributes: z.array(z.object({ name: z.string(), mapped: z.boolean(), sample: z.array(z.string()) })),
        would_match_by_cn: z.array(z.string()),
        would_match_if_mapped: z.array(z.string()),
        hint: z.string(),
      })
      .nullable(),
    ambiguous_cn: z.array(z.object({ group: z.string(), dns: z.array(z.string()), hint: z.string() })),
  })
  .nullable()
  .describe('Null when the newest logins (up to 50, since the connection was last changed) matched their groups without trouble.');
