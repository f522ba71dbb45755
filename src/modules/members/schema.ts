import { z } from 'zod';
import { ROLES, type Role } from '../memberships/types.js';
import { pageQuery } from '../../http/pagination.js';

const role = z.enum(ROLES as [Role, ...Role[]]);
const userIds = z.array(z.string().min(1).max(100)).min(1, 'give 1 to 1000 user ids').max(1000, 'give at most 1000 user ids');

export const addMembersBody = z.strictObject({ members: userIds, role: role.default('member') });
/** `members` is required unless the request says `?status=flagged`. */
export const removeMembersBody = z.strictObject({ members: userIds.optional() });
export const setRoleBody = z.strictObject({ role });
export const invitationBody = z.strictObject({ email: z.string().trim().toLowerCase().pipe(z.email()), role: role.default('member') });

export const listMembersQuery = pageQuery.extend({ status: z.enum(['active', 'flagged', 'all']).default('all') });
export const removeMembersQuery = z.object({ status: z.literal('flagged', { error: 'only "flagged" is supported' }).optional() });

export const flagEvidenceSchema = z
  .object({ channel: z.enum(['scim', 'login', 'reconcile']), action: z.string(), at: z.string() })
  .catchall(z.unknown());

export const memberSchema = z.object({
  user_id: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  role,
  status: z.enum(['active', 'flagged']),
  source: z.enum(['sso', 'scim', 'manual']),
  flagged_reason: z.string().nullable(),
  flagged_at: z.string().nullable(),
  flag_evidence: flagEvidenceSchema.nullable(),
  joined_at: z.string(),
  last_login_at: z.string().nullable(),
});

export const invitationSchema = z.object({ id: z.string(), organization_id: z.string(), email: z.string(), role, created_at: z.string() });
