import { z } from 'zod';
import { pullCreateFields, pullSettingsView, syncStatusView, type SyncStatus } from '../pull-directories/settings.js';

/** `kind` defaults to `scim`; pull kinds carry their settings under their own key. */
export const createDirectoryBody = z.strictObject({
  connection_id: z.string().min(1).max(36),
  name: z.string().trim().min(1).max(200).optional(),
  kind: z.enum(['scim', 'google_workspace', 'microsoft_graph']).optional(),
  ...pullCreateFields,
});

export const rotateTokenBody = z.strictObject({
  // Up to 30 days: long enough to roll the token out to an IdP, short enough not to forget it.
  grace_seconds: z.number().int().min(0).max(30 * 24 * 3600).optional(),
});

export interface DirectoryToken {
  id: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
}

export interface Directory {
  id: string;
  connection_id: string;
  name: string;
  kind: 'scim' | 'google_workspace' | 'microsoft_graph';
  /** Null for pull directories: the IdP pushes nothing to them. */
  scim_base_url: string | null;
  created_at: string;
  last_activity_at: string | null;
  users: number;
  groups: number;
  tokens: DirectoryToken[];
  /** Pull directories: settings without secrets, and sync status. */
  settings: z.infer<typeof pullSettingsView> | null;
  sync: SyncStatus | null;
}

const tokenSchema = z.object({ id: z.string(), prefix: z.string(), created_at: z.string(), expires_at: z.string().nullable() });

export const directorySchema = z.object({
  id: z.string(),
  connection_id: z.string(),
  name: z.string(),
  kind: z.enum(['scim', 'google_workspace', 'microsoft_graph']),
  scim_base_url: z.string().nullable(),
  created_at: z.string(),
  last_activity_at: z.string().nullable(),
  users: z.number().int(),
  groups: z.number().int(),
  tokens: z.array(tokenSchema),
  settings: pullSettingsView.nullable(),
  sync: syncStatusView.nullable(),
});

export const directoryWithTokenSchema = directorySchema.extend({ token: z.string() });
export const createdDirectorySchema = directorySchema.extend({ token: z.string().optional() });
