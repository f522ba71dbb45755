import type { Connection, SamlIdp } from '../../connections/schema.js';
import { domainOf } from '../../users/account-trust.js';
import { ssoFailure } from '../errors.js';
import type { LoginProfile } from '../login-profile.js';

export const TRANSIENT_NAME_ID = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';

/**
 * A transient NameID is new at every sign-in: keyed on it, each sign-in would make a new identity.
 * Such a login is bound on a persistent value instead — the attribute the connection names as the
 * subject (`attribute_mapping.subject`), else the email when it is in one of the connection's
 * verified domains (the connection speaks for those addresses; an address elsewhere identifies
 * nobody here, SPEC §2) — or refused with what the IT admin can change.
 */
export function bindTransientSubject(c: Connection & { idp: SamlIdp }, nameId: string, nameIdFormat: string | undefined, profile: LoginProfile): LoginProfile {
  if (nameIdFormat !== TRANSIENT_NAME_ID) return profile;
  const configured = c.attribute_mapping.subject;
  if (configured.length) {
    // toLoginProfile fell back to the NameID only when none of the named attributes came.
    if (profile.subject !== nameId) return profile;
    throw ssoFailure('subject_not_persistent', { why: `transient NameID and none of the subject attributes (${configured.join(', ')}) in the response` });
  }
  const email = profile.email?.toLowerCase() ?? null;
  const domain = email ? domainOf(email) : null;
  if (!email || !domain || !c.domains.includes(domain)) {
    throw ssoFailure('subject_not_persistent', { why: email ? `transient NameID and the email's domain ${domain ?? '(none)'} is not one of the connection's domains` : 'transient NameID and no email address' });
  }
  return { ...profile, subject: email, externalId: profile.externalId === nameId ? email : profile.externalId };
}
