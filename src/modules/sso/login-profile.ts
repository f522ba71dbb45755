import { GROUP_LIKE_ATTRIBUTES, type AttributeMapping } from '../connections/attribute-mapping.js';
import type { Connection } from '../connections/schema.js';
import { looksLikeGroupDn } from '../membership-sync/ldap-dn.js';
import type { GroupLikeAttribute, GroupsIncompleteReason } from '../membership-sync/sync-runs.js';

/** A fully validated login, whatever the protocol: the only thing login sync sees. */
export interface LoginProfile {
  protocol: 'saml' | 'oidc';
  subject: string;
  email: string | null;
  /** OIDC `email_verified`; null when the IdP does not say (SAML). */
  emailVerified: boolean | null;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  groups: string[];
  /**
   * Null when `groups` is the IdP's whole list (possibly empty, when it said so). Otherwise why it is
   * not: `groups_overage` (Entra sent a link to the list instead of it), `groups_missing` (no groups
   * attribute at all). Absences from an incomplete list prove nothing.
   */
  groupsIncomplete: GroupsIncompleteReason | null;
  /**
   * The attributes that carry groups or look like they do (mapped groups attributes, other known
   * group attribute names, values that are group DNs): what the sync run's "no rule matched" warning
   * reports. Never email, name or id attributes.
   */
  groupAttributes?: GroupLikeAttribute[];
  /** Matched against SCIM `externalId`: the mapped attribute (Entra `oid`), else the subject. */
  externalId: string;
  /** OIDC `hd`: the Google Workspace domain of the account (absent for consumer Google accounts). */
  hostedDomain: string | null;
}

type Claims = Record<string, unknown>;

const values = (v: unknown): string[] => {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.flatMap(values);
  if (typeof v === 'string') return v.length ? [v] : [];
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  return [];
};

const first = (claims: Claims, names: string[]): string | null => {
  for (const n of names) {
    const v = values(claims[n])[0];
    if (v) return v;
  }
  return null;
};

const has = (claims: Claims, name: string): boolean => Object.prototype.hasOwnProperty.call(claims, name);

/** Entra's SAML overage claim: past 150 groups it sends this link to Microsoft Graph instead of them. */
export const ENTRA_GROUPS_LINK = 'http://schemas.microsoft.com/claims/groups.link';

/**
 * Whether the IdP said the groups are elsewhere (Microsoft Entra ID group overage): the SAML claim
 * `…/claims/groups.link`; in a JWT, a groups claim named in `_claim_names` (its value in
 * `_claim_sources`), or `hasgroups: true` (implicit flow).
 */
function groupsOverage(claims: Claims, groupNames: string[]): boolean {
  if (values(claims[ENTRA_GROUPS_LINK]).length > 0) return true;
  const names = claims._claim_names;
  if (names !== null && typeof names === 'object' && !Array.isArray(names) && ['groups', ...groupNames].some((n) => has(names as Claims, n))) return true;
  return claims.hasgroups === true || claims.hasgroups === 'true';
}

const KNOWN_GROUP_NAMES = new Set(GROUP_LIKE_ATTRIBUTES.map((n) => n.toLowerCase()));
/**
 * Attributes whose values are DNs of people or entries, not of groups (`manager`, the user's own
 * `distinguishedName`, `…/claims/dn`, their OIDs): never sampled as groups.
 */
const NOT_GROUP_DNS = /manager|secretary|owner|distinguished|seealso|(?:^|[^a-z])(?:entry|user)?dn$|^urn:oid:(?:0\.9\.2342\.19200300\.100\.1\.10|2\.5\.4\.49)$/i;
const MAX_GROUP_ATTRIBUTES = 20;

function groupLikeAttributes(claims: Claims, mapping: AttributeMapping): GroupLikeAttribute[] {
  const identity = new Set([...mapping.subject, ...mapping.email, ...mapping.name, ...mapping.given_name, ...mapping.family_name, ...mapping.external_id]);
  const out: GroupLikeAttribute[] = [];
  for (const [name, raw] of Object.entries(claims)) {
    if (out.length >= MAX_GROUP_ATTRIBUTES) break;
    if (identity.has(name)) continue;
    const mapped = mapping.groups.includes(name);
    const vals = values(raw);
    if (mapped || KNOWN_GROUP_NAMES.has(name.toLowerCase())) out.push({ name, mapped, values: vals });
    else if (!NOT_GROUP_DNS.test(name) && vals.slice(0, 50).some(looksLikeGroupDn)) out.push({ name, mapped, values: vals });
  }
  return out;
}

/** Normalises SAML attributes or OIDC claims through the connection's attribute mapping. */
export function toLoginProfile(
  protocol: 'saml' | 'oidc',
  defaultSubject: string,
  claims: Claims,
  mapping: AttributeMapping,
  emailVerified: boolean | null = null,
): LoginProfile {
  const subject = (mapping.subject.length ? first(claims, mapping.subject) : null) ?? defaultSubject;
  const groups = new Set<string>();
  for (const n of mapping.groups) for (const g of values(claims[n])) groups.add(g);
  const email = first(claims, mapping.email) ?? (/^[^@\s]+@[^@\s]+$/.test(defaultSubject) ? defaultSubject : null);
  // An attribute sent with no value is an explicit empty list; no attribute at all says nothing.
  const groupsIncomplete = groupsOverage(claims, mapping.groups) ? 'groups_overage' : mapping.groups.some((n) => has(claims, n)) ? null : 'groups_missing';
  return {
    protocol,
    subject,
    email: email ? email.trim() : null,
    emailVerified,
    name: first(claims, mapping.name),
    givenName: first(claims, mapping.given_name),
    familyName: first(claims, mapping.family_name),
    groups: [...groups],
    groupsIncomplete,
    groupAttributes: groupLikeAttributes(claims, mapping),
    externalId: first(claims, mapping.external_id) ?? subject,
    hostedDomain: protocol === 'oidc' ? first(claims, ['hd']) : null,
  };
}

/** How a connection is known to be Google (Workspace) sign-in: its issuer is Google's. */
export const GOOGLE_ISSUER = 'https://accounts.google.com';
export const isGoogleConnection = (c: Connection): boolean => c.type === 'oidc' && c.idp.issuer.replace(/\/+$/, '').toLowerCase() === GOOGLE_ISSUER;

/**
 * Google signs in any Google account, consumer ones included, and a consumer account can carry a
 * work address (made with that email outside the company's Workspace): the email's domain does not
 * say who manages the account, `hd` does. A Google connection accepts an account only when `hd` is
 * one of its domains. Returns why not, or null.
 */
export function googleDomainRefusal(c: Connection, profile: LoginProfile): string | null {
  if (!isGoogleConnection(c)) return null;
  if (!profile.hostedDomain) return 'the Google account belongs to no Workspace (no hd claim)';
  if (!c.domains.includes(profile.hostedDomain.toLowerCase())) return `the Google Workspace domain (hd) ${profile.hostedDomain} is not a domain of this connection`;
  return null;
}
