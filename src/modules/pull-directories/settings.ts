import { z } from 'zod';

export type PullKind = 'google_workspace' | 'microsoft_graph';
export type DirectoryKind = 'scim' | PullKind;

/** How pages, reports and the CLI name each kind of pulled directory. */
export const PULL_KIND_LABEL: Readonly<Record<PullKind, string>> = { google_workspace: 'Google Workspace', microsoft_graph: 'Microsoft Graph' };
export const isPullKind = (kind: string | null | undefined): kind is PullKind => kind === 'google_workspace' || kind === 'microsoft_graph';

export const DEFAULT_SYNC_INTERVAL_SECONDS = 300;

/**
 * Base and token URL overrides (sovereign clouds, proxies, tests): https, or plain http to a
 * loopback host only, as for OIDC issuers. No credentials or fragments in them.
 */
const endpointUrl = z
  .string()
  .max(500)
  .url()
  .refine((v) => {
    const u = new URL(v);
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
    return (u.protocol === 'https:' || (u.protocol === 'http:' && loopback)) && !u.username && !u.password && !u.hash;
  }, 'must be an https URL (http only on a loopback host), without credentials')
  .transform((v) => v.replace(/\/+$/, ''));

const intervalSeconds = z.number().int().min(60).max(86_400);

export const graphSettingsInput = z.strictObject({
  tenant_id: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9.-]+$/, 'must be a tenant GUID or domain'),
  client_id: z.string().trim().min(1).max(100),
  client_secret: z.string().min(1).max(1000),
  api_base_url: endpointUrl.optional(),
  token_url: endpointUrl.optional(),
});

const serviceAccountKey = z
  .union([z.string().max(20_000), z.record(z.string(), z.unknown())])
  .transform((v, ctx) => {
    let parsed: unknown = v;
    if (typeof v === 'string') {
      try {
        parsed = JSON.parse(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be the service account JSON key' });
        return z.NEVER;
      }
    }
    const key = z.object({ client_email: z.string().email(), private_key: z.string().includes('PRIVATE KEY') }).safeParse(parsed);
    if (!key.success) {
      ctx.addIssue({ code: 'custom', message: 'must be a service account JSON key with client_email and private_key' });
      return z.NEVER;
    }
    return { client_email: key.data.client_email, private_key: key.data.private_key };
  });

export const googleSettingsInput = z
  .strictObject({
    service_account_key: serviceAccountKey,
    admin_email: z.string().trim().email().max(320),
    customer_id: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9_]+$/).optional(),
    domain: z.string().trim().min(1).max(253).regex(/^[A-Za-z0-9.-]+$/).optional(),
    api_base_url: endpointUrl.optional(),
    token_url: endpointUrl.optional(),
  })
  .refine((v) => !(v.customer_id && v.domain), 'give customer_id or domain, not both');

/** Stored beside the directory (no secrets). */
export interface GraphSettings {
  tenant_id: string;
  client_id: string;
  api_base_url: string | null;
  token_url: string | null;
}

export interface GoogleSettings {
  client_email: string;
  admin_email: string;
  customer_id: string | null;
  domain: string | null;
  api_base_url: string | null;
  token_url: string | null;
}

export interface PullSettings {
  sync_interval_seconds: number;
  microsoft_graph?: GraphSettings;
  google_workspace?: GoogleSettings;
}

export const pullPatchBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  sync_interval_seconds: intervalSeconds.optional(),
  microsoft_graph: graphSettingsInput.partial().optional(),
  google_workspace: z
    .strictObject({
      service_account_key: serviceAccountKey.optional(),
      admin_email: z.string().trim().email().max(320).optional(),
      customer_id: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9_]+$/).nullable().optional(),
      domain: z.string().trim().min(1).max(253).regex(/^[A-Za-z0-9.-]+$/).nullable().optional(),
      api_base_url: endpointUrl.nullable().optional(),
      token_url: endpointUrl.nullable().optional(),
    })
    .optional(),
});

export const pullCreateFields = {
  sync_interval_seconds: intervalSeconds.optional(),
  microsoft_graph: graphSettingsInput.optional(),
  google_workspace: googleSettingsInput.optional(),
};

/** What the API shows of a pull directory's settings: never the secret. */
export const pullSettingsView = z.object({
  sync_interval_seconds: z.number().int(),
  microsoft_graph: z.object({ tenant_id: z.string(), client_id: z.string(), api_base_url: z.string().nullable(), token_url: z.string().nullable(), client_secret_set: z.boolean() }).optional(),
  google_workspace: z
    .object({ client_email: z.string(), admin_email: z.string(), customer_id: z.string().nullable(), domain: z.string().nullable(), api_base_url: z.string().nullable(), token_url: z.string().nullable(), service_account_key_set: z.boolean() })
    .optional(),
});

export const syncStatusView = z.object({
  state: z.enum(['idle', 'running', 'failing']),
  last_run_at: z.string().nullable(),
  last_success_at: z.string().nullable(),
  next_run_at: z.string().nullable(),
  last_error: z.string().nullable(),
  failures: z.number().int(),
  last_run: z
    .object({ id: z.string(), trigger: z.string(), status: z.string(), started_at: z.string(), finished_at: z.string().nullable(), requests: z.number().int(), counts: z.record(z.string(), z.number()), error: z.string().nullable() })
    .nullable(),
});
export type SyncStatus = z.infer<typeof syncStatusView>;
