import { z } from 'zod';

export const DEFAULT_LIFETIME_SECONDS = 7 * 24 * 3600;

export const intent = z.enum(['sso', 'directory']);
export type Intent = z.infer<typeof intent>;

export const createSetupLinkBody = z.strictObject({
  intents: z.array(intent).min(1).max(2),
  expires_in: z.number().int().min(300).max(30 * 24 * 3600).optional().describe('Seconds; default 7 days, at most 30 days.'),
});
export type CreateSetupLinkInput = z.infer<typeof createSetupLinkBody>;

export type SetupLinkStatus = 'active' | 'expired' | 'revoked' | 'finished';

export interface SetupLinkView {
  id: string;
  organization_id: string;
  intents: Intent[];
  status: SetupLinkStatus;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  finished_at: string | null;
  last_used_at: string | null;
  connection_id: string | null;
  directory_id: string | null;
}

export const setupLinkSchema = z.object({
  id: z.string(),
  organization_id: z.string(),
  intents: z.array(intent),
  status: z.enum(['active', 'expired', 'revoked', 'finished']),
  created_at: z.string(),
  expires_at: z.string(),
  revoked_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  connection_id: z.string().nullable(),
  directory_id: z.string().nullable(),
});
