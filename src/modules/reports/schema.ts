import { z } from 'zod';

export const syncRunSchema = z.object({
  id: z.string(),
  trigger: z.enum(['login', 'scim', 'reconcile', 'pull']).describe('`pull`: the summary of one Google Workspace or Microsoft Graph pull run in one organization (see `pull`).'),
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
  pull_run_id: z.string().nullable().describe('The pull run that wrote this run (changes of a pulled directory); null otherwise.'),
  pull: z
    .object({
      run_id: z.string(),
      organization_id: z.string(),
      directory_id: z.string(),
      directory_name: z.string(),
      kind: z.enum(['google_workspace', 'microsoft_graph']),
      trigger: z.enum(['schedule', 'manual']),
      status: z.enum(['succeeded', 'failed', 'interrupted']),
      complete: z.boolean(),
      started_at: z.string(),
      finished_at: z.string(),
      requests: z.number().int(),
      counts: z.record(z.string(), z.number()),
      changes: z.object({
        added: z.number().int(),
        updated: z.number().int(),
        flagged: z.number().int(),
        restored: z.number().int(),
        skipped: z.number().int(),
        by_reason: z.record(z.string(), z.number()),
      }),
      repeats: z.number().int().optional().describe('Consecutive runs that ended the same way (same status and error, nothing changed here) behind this entry; absent means 1.'),
      first_started_at: z.string().optional().describe('With `repeats`: when the first of those runs started.'),
    })
    .nullable()
    .describe(
      'Trigger `pull`: one pull run as this organization sees it: the directory, its kind, the run id, how it ended (`error` says why it failed), what it read, and what it changed here. A run that did not complete (`complete: false`) applied only what the source stated on the pages it read (a suspension, a deletion); nothing that depends on absence (users, groups or members no longer listed) changed.',
    ),
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
