import ipaddr from 'ipaddr.js';
import { z } from 'zod';

const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const intString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const databaseUrl = z
  .string()
  .refine((v) => v.startsWith('sqlite:') || /^postgres(ql)?:\/\//.test(v), {
    message: 'must be sqlite:<path>, sqlite::memory: or postgres://…',
  });

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const isAddressOrRange = (v: string): boolean => {
  if (NAMED_RANGES.has(v) || ipaddr.isValid(v)) return true;
  try {
    ipaddr.parseCIDR(v);
    return true;
  } catch {
    return false;
  }
};

/**
 * Which reverse proxies may say who the client is (X-Forwarded-For): none by default; a hop count;
 * or their addresses, CIDR ranges and `loopback`/`linklocal`/`uniquelocal`. Never "every address":
 * then any client could pick a new address, and a fresh rate-limit budget, per request.
 */
const trustProxy = z
  .string()
  .transform((v) => v.trim())
  .refine((v) => v !== 'true', { message: 'must name the proxies (addresses, CIDR ranges, loopback) or count them; trusting every address lets clients choose their own' })
  .refine((v) => v === 'false' || /^\d{1,2}$/.test(v) || v.split(',').every((x) => isAddressOrRange(x.trim())), {
    message: 'must be false, a hop count, or a comma-separated list of addresses, CIDR ranges, loopback, linklocal, uniquelocal',
  })
  .transform((v): false | number | string[] => (v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v.split(',').map((x) => x.trim())));

const envSchema = z.object({
  PORT: intString(0, 65535).prefault('3000'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.string().url().optional(),
  DATABASE_URL: databaseUrl.default('sqlite:./data/orgsync.sqlite'),
  ORGSYNC_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  ORGSYNC_BOOTSTRAP_API_KEY: z.string().min(20, 'must be at least 20 characters').optional(),
  MAX_ORGANIZATIONS_PER_USER: intString(1, 100_000).prefault('400'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  RATE_LIMIT_API_PER_MINUTE: intString(0, 10_000_000).prefault('6000'),
  RATE_LIMIT_SCIM_PER_MINUTE: intString(0, 10_000_000).prefault('60000'),
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: intString(0, 10_000_000).prefault('600'),
  TRUST_PROXY: trustProxy.prefault('false'),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: booleanString.prefault('false'),
  EVENT_RETENTION_DAYS: intString(1, 3650).prefault('30'),
  // How often SAML connections created from a metadata URL fetch it again (±10% jitter).
  SAML_METADATA_REFRESH_SECONDS: intString(60, 30 * 86_400).prefault('43200'),
  // Domain proofs (DNS TXT) ask these servers instead of the system's: `ip`, `ip:port`, `[ipv6]:port`.
  DNS_RESOLVERS: z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^(?:\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?|\[[0-9a-fA-F:.]+\](?::\d{1,5})?|[0-9a-fA-F:]+)$/, 'must be a comma-separated list of IP addresses with optional ports')).min(1))
    .optional(),
});

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  /** PUBLIC_URL was not set: it follows the port (the real one once listening, for PORT=0). */
  publicUrlFromPort: boolean;
  databaseUrl: string;
  secret: string | undefined;
  bootstrapApiKey: string | undefined;
  maxOrganizationsPerUser: number;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  rateLimitApiPerMinute: number;
  rateLimitScimPerMinute: number;
  /** Unauthenticated sign-in requests per client address per minute (`0` = off). */
  rateLimitAnonymousPerMinute: number;
  /** express's `trust proxy`: false, a hop count, or the proxies' addresses and ranges. */
  trustProxy: false | number | string[];
  webhookAllowPrivateTargets: boolean;
  eventRetentionDays: number;
  /** SAML metadata URLs are fetched again this often (seconds). */
  samlMetadataRefreshSeconds: number;
  /** Empty: the system resolver. */
  dnsResolvers: string[];
}

export class ConfigError extends Error {
  constructor(public readonly variable: string, detail: string) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

/** The only place that reads the environment. Empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(variable, `${issue.message} (got ${JSON.stringify(raw[variable] ?? null)})`);
  }
  const e = parsed.data;
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    publicUrlFromPort: e.PUBLIC_URL === undefined,
    databaseUrl: e.DATABASE_URL,
    secret: e.ORGSYNC_SECRET,
    bootstrapApiKey: e.ORGSYNC_BOOTSTRAP_API_KEY,
    maxOrganizationsPerUser: e.MAX_ORGANIZATIONS_PER_USER,
    logLevel: e.LOG_LEVEL,
    rateLimitApiPerMinute: e.RATE_LIMIT_API_PER_MINUTE,
    rateLimitScimPerMinute: e.RATE_LIMIT_SCIM_PER_MINUTE,
    rateLimitAnonymousPerMinute: e.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
    trustProxy: e.TRUST_PROXY,
    webhookAllowPrivateTargets: e.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    eventRetentionDays: e.EVENT_RETENTION_DAYS,
    samlMetadataRefreshSeconds: e.SAML_METADATA_REFRESH_SECONDS,
    dnsResolvers: e.DNS_RESOLVERS ?? [],
  };
}
