const crud = (resource: string) => ['read', 'create', 'update', 'delete'].map((verb) => `${verb}:${resource}`);

export const ALL_SCOPES = [
  ...crud('organizations'),
  ...crud('organization_members'),
  ...crud('connections'),
  ...crud('directories'),
  'read:reports',
  'read:audit_logs',
  'read:events',
  ...crud('webhooks'),
  'create:api_keys',
  'delete:api_keys',
] as const;

export type Scope = (typeof ALL_SCOPES)[number];

export const isScope = (s: string): s is Scope => (ALL_SCOPES as readonly string[]).includes(s);
