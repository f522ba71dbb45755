import type { DemoPerson } from './directory.js';
import type { OpAccount } from './oidc-op.js';

/**
 * FOR DEMONSTRATION ONLY: who exists in the demo. Acme signs in over SAML and provisions over SCIM;
 * Globex signs in over OpenID Connect. Group names are what the membership rules match.
 */
export const ACME_DOMAIN = 'acme.example';
export const GLOBEX_DOMAIN = 'globex.example';

export const ORGANIZATIONS = [
  { name: 'acme-engineering', display_name: 'Acme Engineering' },
  { name: 'acme-sales', display_name: 'Acme Sales' },
  { name: 'globex', display_name: 'Globex' },
] as const;

export const ACME_GROUPS = ['Engineering', 'Engineering Leads', 'Sales'];

export const ACME_RULES = [
  { organization: 'acme-engineering', role: 'member', groups: ['Engineering'] },
  { organization: 'acme-engineering', role: 'admin', groups: ['Engineering Leads'] },
  { organization: 'acme-sales', role: 'member', groups: ['Sales'] },
] as const;

export const GLOBEX_RULES = [
  { organization: 'globex', role: 'member', groups: ['staff'] },
  { organization: 'globex', role: 'owner', groups: ['globex-admins'] },
] as const;

export const ACME_PEOPLE: Omit<DemoPerson, 'active'>[] = [
  { key: 'alice', email: `alice@${ACME_DOMAIN}`, givenName: 'Alice', familyName: 'Anders', groups: ['Engineering', 'Engineering Leads', 'Sales'] },
  { key: 'bob', email: `bob@${ACME_DOMAIN}`, givenName: 'Bob', familyName: 'Berg', groups: ['Engineering'] },
  { key: 'carol', email: `carol@${ACME_DOMAIN}`, givenName: 'Carol', familyName: 'Chen', groups: ['Sales'] },
];

export const GLOBEX_ACCOUNTS: OpAccount[] = [{ sub: 'globex-0001', email: `dave@${GLOBEX_DOMAIN}`, name: 'Dave Dubois', groups: ['staff', 'globex-admins'] }];
