import { z } from 'zod';

/**
 * Where a login's fields come from. Each entry lists candidate attribute names (SAML attribute
 * names or OIDC claim names), tried in order: the defaults cover Okta, Entra ID, Google Workspace,
 * Keycloak and OneLogin without configuration.
 */
export interface AttributeMapping {
  /** Empty: the SAML NameID / OIDC `sub`. */
  subject: string[];
  email: string[];
  name: string[];
  given_name: string[];
  family_name: string[];
  groups: string[];
  /** The IdP's stable object id, matched against SCIM `externalId`; falls back to the subject. */
  external_id: string[];
}

const ENTRA = 'http://schemas.microsoft.com/identity/claims';
const WS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

export const DEFAULT_SAML_MAPPING: AttributeMapping = {
  subject: [],
  email: ['email', 'mail', `${WS}/emailaddress`, 'urn:oid:0.9.2342.19200300.100.1.3', 'Email', 'User.email'],
  name: ['name', 'displayName', `${ENTRA}/displayname`, 'urn:oid:2.16.840.1.113730.3.1.241'],
  given_name: ['given_name', 'firstName', 'givenName', `${WS}/givenname`, 'urn:oid:2.5.4.42', 'User.FirstName'],
  family_name: ['family_name', 'lastName', 'surname', 'sn', `${WS}/surname`, 'urn:oid:2.5.4.4', 'User.LastName'],
  // Okta/OneLogin/Keycloak `groups`, Entra, LDAP-backed IdPs (`memberOf`, Shibboleth and
  // SimpleSAMLphp `isMemberOf`, their OIDs), ADFS's Group claim. Role attributes are not here: their
  // values ("admin", "user") name roles, and a rule group of the same name would grant by them.
  groups: [
    'groups',
    'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
    'memberOf',
    'Groups',
    'urn:oid:1.3.6.1.4.1.5923.1.5.1.1',
    'isMemberOf',
    'http://schemas.xmlsoap.org/claims/Group',
    'urn:oid:1.2.840.113556.1.2.102',
  ],
  external_id: [`${ENTRA}/objectidentifier`],
};

export const DEFAULT_OIDC_MAPPING: AttributeMapping = {
  subject: [],
  email: ['email', 'preferred_username', 'upn'],
  name: ['name'],
  given_name: ['given_name'],
  family_name: ['family_name'],
  // Entra app roles (`roles`) are assigned to the application by the customer's admin, as groups are.
  groups: ['groups', 'roles'],
  external_id: ['oid'],
};

/**
 * Attribute names that carry groups (or roles) at some IdP, mapped or not: a login that carries one
 * while no rule matched gets a warning naming it (`group-warnings.ts`).
 */
export const GROUP_LIKE_ATTRIBUTES: readonly string[] = [
  ...DEFAULT_SAML_MAPPING.groups,
  'roles',
  'role',
  'Role',
  'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
  'eduPersonEntitlement',
  'urn:oid:1.3.6.1.4.1.5923.1.1.1.7',
];

const names = z.union([z.string().min(1).max(500), z.array(z.string().min(1).max(500)).max(20)]).transform((v) => (Array.isArray(v) ? v : [v]));

/** What an API client may send: any subset; a string is the same as a one-element list. */
export const attributeMappingInput = z.strictObject({
  subject: names.optional(),
  email: names.optional(),
  name: names.optional(),
  given_name: names.optional(),
  family_name: names.optional(),
  groups: names.optional(),
  external_id: names.optional(),
});
export type AttributeMappingInput = z.infer<typeof attributeMappingInput>;

export function withDefaults(type: 'saml' | 'oidc', input: AttributeMappingInput | undefined): AttributeMapping {
  const base = type === 'saml' ? DEFAULT_SAML_MAPPING : DEFAULT_OIDC_MAPPING;
  return { ...base, ...Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== undefined)) };
}
