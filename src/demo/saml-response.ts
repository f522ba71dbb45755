import { randomUUID } from 'node:crypto';

/**
 * Filling a SAML Response template the way an IdP does for one sign-in: fresh ids and times, the
 * SP's ACS URL and entity id, the user's attributes. Shared by the demo IdP and the test IdP.
 */
export interface SamlUser {
  nameId: string;
  email: string;
  name?: string;
  givenName?: string;
  familyName?: string;
  groups?: string[];
}

export interface ResponseVars {
  acsUrl: string;
  spEntityId: string;
  requestId: string;
  user: SamlUser;
  /** Placeholder → value; `+5m`, `-2h`, `+30s` are times relative to now. */
  overrides?: Record<string, string>;
}

export const escapeXml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
const relative = (v: string) => {
  const m = /^([+-]\d+)([smh])$/.exec(v);
  return m ? at(Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h']) : v;
};

export function fillResponseTemplate(template: string, issuer: string, v: ResponseVars): { id: string; assertionId: string; xml: string } {
  const u = v.user;
  const values: Record<string, string> = {
    RESPONSE_ID: `_r${randomUUID()}`,
    ASSERTION_ID: `_a${randomUUID()}`,
    NOW: at(0),
    NOT_BEFORE: at(-30_000),
    NOT_ON_OR_AFTER: at(5 * 60_000),
    DESTINATION: v.acsUrl,
    RECIPIENT: v.acsUrl,
    AUDIENCE: v.spEntityId,
    RESPONSE_ISSUER: issuer,
    ASSERTION_ISSUER: issuer,
    REQUEST_ID: v.requestId,
    NAME_ID: escapeXml(u.nameId),
    EMAIL: escapeXml(u.email),
    NAME: escapeXml(u.name ?? ''),
    GIVEN_NAME: escapeXml(u.givenName ?? ''),
    FAMILY_NAME: escapeXml(u.familyName ?? ''),
    GROUP_VALUES: (u.groups ?? []).map((g) => `<saml:AttributeValue>${escapeXml(g)}</saml:AttributeValue>`).join(''),
  };
  for (const [k, val] of Object.entries(v.overrides ?? {})) values[k] = relative(val);
  const xml = template.replace(/\{\{([A-Z_]+)\}\}/g, (m, k: string) => values[k] ?? m);
  return { id: values.RESPONSE_ID!, assertionId: values.ASSERTION_ID!, xml };
}

/**
 * The response the demo IdP sends: signed by samlify over the whole Response, attributes named as
 * Okta's defaults name them (`email`, `firstName`, `lastName`, `groups`).
 */
export const DEMO_RESPONSE_TEMPLATE =
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{{RESPONSE_ID}}" Version="2.0" IssueInstant="{{NOW}}" Destination="{{DESTINATION}}" InResponseTo="{{REQUEST_ID}}">' +
  '<saml:Issuer>{{RESPONSE_ISSUER}}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
  '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{{ASSERTION_ID}}" Version="2.0" IssueInstant="{{NOW}}"><saml:Issuer>{{ASSERTION_ISSUER}}</saml:Issuer>' +
  '<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{{NAME_ID}}</saml:NameID>' +
  '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{{NOT_ON_OR_AFTER}}" Recipient="{{RECIPIENT}}" InResponseTo="{{REQUEST_ID}}"/></saml:SubjectConfirmation></saml:Subject>' +
  '<saml:Conditions NotBefore="{{NOT_BEFORE}}" NotOnOrAfter="{{NOT_ON_OR_AFTER}}"><saml:AudienceRestriction><saml:Audience>{{AUDIENCE}}</saml:Audience></saml:AudienceRestriction></saml:Conditions>' +
  '<saml:AuthnStatement AuthnInstant="{{NOW}}" SessionIndex="{{ASSERTION_ID}}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>' +
  '<saml:AttributeStatement>' +
  '<saml:Attribute Name="email"><saml:AttributeValue>{{EMAIL}}</saml:AttributeValue></saml:Attribute>' +
  '<saml:Attribute Name="firstName"><saml:AttributeValue>{{GIVEN_NAME}}</saml:AttributeValue></saml:Attribute>' +
  '<saml:Attribute Name="lastName"><saml:AttributeValue>{{FAMILY_NAME}}</saml:AttributeValue></saml:Attribute>' +
  '<saml:Attribute Name="groups">{{GROUP_VALUES}}</saml:Attribute>' +
  '</saml:AttributeStatement></saml:Assertion></samlp:Response>';
