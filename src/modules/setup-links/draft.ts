import { parseJson } from '../../platform/db.js';
import type { Role } from '../memberships/types.js';
import type { MembershipRuleInput } from '../connections/schema.js';
import type { ProviderKey } from './providers.js';

/** How the customer's groups map to roles in the link's organization (and only there). */
export interface RoleMapping {
  /** Role for everyone who signs in, or null to admit only members of the groups below. */
  everyone: Role | null;
  owner: string[];
  admin: string[];
  member: string[];
}

export type TestOutcome =
  | { kind: 'would_add'; role: Role }
  | { kind: 'would_change_role'; from: Role; to: Role }
  | { kind: 'would_keep'; role: Role }
  | { kind: 'would_restore'; role: Role }
  | { kind: 'would_flag' }
  | { kind: 'no_access' }
  | { kind: 'denied'; reason: 'email_domain_not_verified' | 'no_email' };

export interface TestResult {
  at: string;
  protocol: 'saml' | 'oidc';
  subject: string;
  email: string | null;
  name: string | null;
  groups: string[];
  outcome: TestOutcome;
}

export interface Draft {
  provider?: ProviderKey;
  roles?: RoleMapping;
  test?: TestResult;
}

export const readDraft = (raw: string): Draft => parseJson<Draft>(raw, {});

export const DEFAULT_ROLES: RoleMapping = { everyone: 'member', owner: [], admin: [], member: [] };

/** Membership rules for the link's organization; a link can never name another one. */
export function rulesFor(organizationId: string, m: RoleMapping): MembershipRuleInput[] {
  const rules: MembershipRuleInput[] = [];
  for (const role of ['owner', 'admin', 'member'] as const) {
    if (m[role].length) rules.push({ organization: organizationId, role, groups: m[role] });
  }
  if (m.everyone) rules.push({ organization: organizationId, role: m.everyone });
  return rules;
}
