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
});
