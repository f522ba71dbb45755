/** Form field → the plain-language message of its first problem, in the order the schema found them. */
export type FieldErrors = Map<string, string>;

/** The part of a zod issue the messages need (zod's own messages are written for developers). */
interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  format?: string;
  origin?: string;
}

const LABELS: Record<string, string> = {
  name: 'name',
  sync_interval_seconds: 'sync interval',
  tenant_id: 'tenant ID',
  client_id: 'client ID',
  client_secret: 'client secret',
  service_account_key: 'service account JSON key',
  admin_email: 'admin email',
  customer_id: 'customer ID',
  domain: 'domain',
  api_base_url: 'API base URL',
  token_url: 'token URL',
};

const PATTERN_HINTS: Record<string, string> = {
  customer_id: 'The customer ID can contain only letters, digits and underscores, like C01abc23d.',
  domain: 'The domain can contain only letters, digits, dots and hyphens, like example.com.',
};

/** Which form field an issue belongs to: the last path segment the form has, or the refinement's subject. */
function fieldOf(issue: Issue): string {
  if (/customer_id or domain/.test(issue.message)) return 'customer_id';
  for (let i = issue.path.length - 1; i >= 0; i--) {
    const seg = String(issue.path[i]);
    if (Object.hasOwn(LABELS, seg)) return seg;
  }
  return 'form';
}

function plain(name: string, issue: Issue): string {
  const label = LABELS[name] ?? 'value';
  if (/customer_id or domain/.test(issue.message)) return 'Give the customer ID or the domain, not both.';
  if (name === 'service_account_key') {
    return issue.code === 'too_big' ? 'The service account JSON key is too long.' : 'Upload or paste the JSON key file of the service account as Google gave it, with its client_email and private_key.';
  }
  if (name === 'sync_interval_seconds') return 'Choose how often to sync, between every minute and once a day.';
  const own = /^must /.test(issue.message) ? `The ${label} ${issue.message}.` : null;
  switch (issue.code) {
    case 'invalid_type':
      return `Enter the ${label}.`;
    case 'too_small':
      return `Enter the ${label}.`;
    case 'too_big':
      return `The ${label} is too long.`;
    case 'invalid_format':
      if (issue.format === 'email') return `The ${label} must be an email address, like admin@example.com.`;
      if (issue.format === 'url') return `The ${label} must be a full URL, like https://example.com/path.`;
      return own ?? PATTERN_HINTS[name] ?? `The ${label} has characters that are not allowed.`;
    default:
      return own ?? `The ${label} is not valid.`;
  }
}

/**
 * The API's validation issues as messages a person can act on, one per form field. The API and the
 * form run the same schema; only the wording differs.
 */
export function fieldErrors(issues: readonly Issue[]): FieldErrors {
  const out: FieldErrors = new Map();
  for (const issue of issues) {
    const name = fieldOf(issue);
    if (!out.has(name)) out.set(name, plain(name, issue));
  }
  return out;
}
