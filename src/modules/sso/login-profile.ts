import type { AttributeMapping } from '../connections/attribute-mapping.js';

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
  /** Matched against SCIM `externalId`: the mapped attribute (Entra `oid`), else the subject. */
  externalId: string;
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
  return {
    protocol,
    subject,
    email: email ? email.trim() : null,
    emailVerified,
    name: first(claims, mapping.name),
    givenName: first(claims, mapping.given_name),
    familyName: first(claims, mapping.family_name),
    groups: [...groups],
    externalId: first(claims, mapping.external_id) ?? subject,
  };
}
