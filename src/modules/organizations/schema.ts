import { z } from 'zod';

export const organizationName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a slug: lowercase letters, digits and inner hyphens, at most 63 characters');

export const createOrganizationBody = z.strictObject({
  name: organizationName,
  display_name: z.string().trim().min(1).max(250).optional(),
});

export const updateOrganizationBody = z
  .strictObject({
    name: organizationName.optional(),
    display_name: z.string().trim().min(1).max(250).optional(),
  })
  .refine((v) => v.name !== undefined || v.display_name !== undefined, { message: 'give name or display_name' });

export interface Organization {
  id: string;
  name: string;
  display_name: string;
  created_at: string;
  updated_at: string;
  sso: { enabled: boolean; connection_id: string | null };
}

export const organizationSchema = z.object({
  id: z.string(),
  name: z.string(),
  display_name: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  sso: z.object({ enabled: z.boolean(), connection_id: z.string().nullable() }),
});
