import { z } from 'zod';
import { attributeMappingInput, type AttributeMapping } from './attribute-mapping.js';
import type { Role } from '../memberships/types.js';

const domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a domain name such as acme.com');

export const membershipRuleInput = z.strictObject({
  organization: z.string().trim().min(1).max(100),
  role: z.enum(['owner', 'admin', 'member']),
  groups: z.array(z.string().trim().min(1).max(500)).min(1).max(1000).optional(),
});
export type MembershipRuleInput = z.infer<typeof membershipRuleInput>;
export const membershipRulesInput = z.array(membershipRuleInput).max(5000);

const samlIdpMetadata = z.strictObject({ metadata_xml: z.string().min(1).max(500_000) });
const samlIdpManual = z.strictObject({
  entity_id: z.string().trim().min(1).max(1000),
  sso_url: z.url({ protocol: /^https?$/ }),
  certificates: z.array(z.string().trim().min(1).max(20_000)).min(1).max(10),
});
/**
 * Metadata fetched from the IdP's URL now and refreshed on a schedule (certificate rollover).
 * `entity_id`, when given, must be what the metadata says (a pin against a wrong URL).
 */
const samlIdpMetadataUrl = z.strictObject({
  metadata_url: z.url({ protocol: /^https?$/ }).max(2000),
  entity_id: z.string().trim().min(1).max(1000).optional(),
});
export const samlIdpInput = z.union([samlIdpMetadata, samlIdpManual, samlIdpMetadataUrl]);
export type SamlIdpInput = z.infer<typeof samlIdpInput>;

export const oidcIdpInput = z.strictObject({
  issuer: z.url({ protocol: /^https?$/ }),
  client_id: z.string().trim().min(1).max(500),
  /** Not needed (and not stored) with `private_key_jwt`. */
  client_secret: z.string().min(1).max(2000).optional(),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope token')).max(30).optional(),
  /** Unset: what discovery offers, `client_secret_basic` first (the OIDC default). */
  token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).optional(),
});
export type OidcIdpInput = z.infer<typeof oidcIdpInput>;

const name = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$/, 'must be a slug: lowercase letters, digits and inner hyphens');

const settings = {
  domains: z.array(domain).min(1).max(100),
  attribute_mapping: attributeMappingInput.optional(),
  membership_rules: membershipRulesInput.optional(),
  roles_managed_by: z.enum(['idp', 'admin']).optional(),
  membership_sync: z.enum(['on_login', 'scim_and_login']).optional(),
  allow_idp_initiated: z.boolean().optional(),
  /** SAML only: accept RSA-SHA1 signatures and SHA-1 digests from a legacy IdP (default false). */
  allow_sha1_signatures: z.boolean().optional(),
  /** SAML only: sign AuthnRequests with the SP signing key; null or absent follows the IdP metadata's WantAuthnRequestsSigned. */
  sign_authn_requests: z.boolean().nullable().optional(),
  /** SAML only: refuse responses whose assertion is not encrypted to the SP encryption key (default false). */
  require_encrypted_assertions: z.boolean().optional(),
  auto_remove_flagged_after_days: z.number().int().min(1).max(3650).nullable().optional(),
  /** How a group value that is an LDAP DN matches rule groups: the whole DN (default), or also its CN. */
  group_dn_match: z.enum(['dn', 'cn']).optional(),
};

export const createConnectionBody = z.discriminatedUnion('type', [
  z.strictObject({ name, type: z.literal('saml'), idp: samlIdpInput, ...settings }),
  z.strictObject({ name, type: z.literal('oidc'), idp: oidcIdpInput, ...settings }),
]);
export type CreateConnectionInput = z.infer<typeof createConnectionBody>;

/** PATCH: any setting; `idp` replaces the IdP settings (an OIDC secret may be omitted to keep it, only while issuer and client_id stay the same). */
export const updateConnectionBody = z.strictObject({
  name: name.optional(),
  idp: z.union([samlIdpInput, oidcIdpInput]).optional(),
  domains: settings.domains.optional(),
  attribute_mapping: settings.attribute_mapping,
  membership_rules: settings.membership_rules,
  roles_managed_by: settings.roles_managed_by,
  membership_sync: settings.membership_sync,
  allow_idp_initiated: settings.allow_idp_initiated,
  allow_sha1_signatures: settings.allow_sha1_signatures,
  sign_authn_requests: settings.sign_authn_requests,
  require_encrypted_assertions: settings.require_encrypted_assertions,
  auto_remove_flagged_after_days: settings.auto_remove_flagged_after_days,
  group_dn_match: settings.group_dn_match,
});
export type UpdateConnectionInput = z.infer<typeof updateConnectionBody>;

/** `group_dn_match`: preview the rules as they would match with that setting (default: the connection's). */
export const previewBody = z.strictObject({ membership_rules: membershipRulesInput, group_dn_match: settings.group_dn_match });

/** IdP settings as stored (JSON in `connections.idp`). */
export interface SamlIdp {
  entity_id: string;
  sso_url: string;
  /** Bare base64 DER bodies (no PEM armour). */
  certificates: string[];
  /** Set: the three fields above are the last good copy of the metadata at this URL, refreshed on a schedule. */
  metadata_url?: string;
  /** The IdP metadata's WantAuthnRequestsSigned="true": requests are signed unless the connection says otherwise. */
  want_authn_requests_signed?: boolean;
}
export interface OidcIdp {
  issuer: string;
  client_id: string;
  /** Sealed with the secret box; never leaves the server. Absent with `private_key_jwt` when none was given. */
  client_secret_sealed?: string;
  scopes: string[];
  /** Absent: chosen from discovery at each sign-in. */
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
}
export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/** `dn`: a DN group value matches a rule group naming the same DN; `cn`: also one naming its first CN. */
export type GroupDnMatch = 'dn' | 'cn';

export interface MembershipRule {
  organization_id: string;
  role: Role;
  groups: string[] | null;
}

interface ConnectionBase {
  id: string;
  name: string;
  domains: string[];
  attribute_mapping: AttributeMapping;
  membership_rules: MembershipRule[];
  roles_managed_by: 'idp' | 'admin';
  membership_sync: 'on_login' | 'scim_and_login';
  allow_idp_initiated: boolean;
  allow_sha1_signatures: boolean;
  /** SAML: null follows the IdP metadata's WantAuthnRequestsSigned. */
  sign_authn_requests: boolean | null;
  require_encrypted_assertions: boolean;
  auto_remove_flagged_after_days: number | null;
  group_dn_match: GroupDnMatch;
  created_at: string;
  updated_at: string;
  /** `setup`: being configured through a setup link; its sign-ins are tests that change nothing. */
  status: 'active' | 'setup';
}
export type Connection = (ConnectionBase & { type: 'saml'; idp: SamlIdp }) | (ConnectionBase & { type: 'oidc'; idp: OidcIdp });
