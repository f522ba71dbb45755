import { randomBytes } from 'node:crypto';
import { escapeHtml } from './web.js';

/**
 * What the IT admin who runs the connection can change, per failure. The person who could not sign
 * in reads the page; the admin acts on it. Static text only: nothing from the response goes here.
 */
const ADMIN_HINTS: Record<string, string> = {
  invalid_response: "Compare the connection's identity provider settings (issuer or entity id, certificates, the URLs pasted into the identity provider) with what the identity provider uses, and check both servers' clocks. The server log line with this reference names the check that failed.",
  subject_not_persistent: "Have the identity provider send a persistent NameID (or the email address as NameID), or send the user's email address in one of the connection's domains, or name an attribute with a stable user id in the connection's attribute_mapping.subject. A transient NameID alone cannot identify anyone across sign-ins.",
  encryption_required: "Turn on assertion encryption for orgsync at the identity provider, with the encryption certificate from the connection's SP metadata URL; or turn off the connection's require_encrypted_assertions.",
  access_denied: 'Assign this person (or one of their groups) to the orgsync application at the identity provider.',
  idp_error: "Check the client registered at the identity provider: client id and secret, the redirect URI, and the token endpoint authentication it allows (the connection's idp.token_endpoint_auth_method).",
  replay: 'Nothing to change: start the sign-in again from the beginning.',
  email_domain_not_verified: "Add the person's email domain to the connection's domains, or provision them through the connection's SCIM directory.",
  user_deactivated: "The identity provider's directory deactivated this person; reactivate them there if they should have access.",
  unknown_connection: "Use the sign-in URL shown on the connection's page in orgsync.",
  idp_unavailable: "Check that the identity provider's issuer URL is right and that orgsync's server can reach it (DNS, firewall, TLS). 'orgsync connection test NAME' shows what was reached.",
  idp_issuer_mismatch: "Set the connection's issuer to exactly the value the identity provider publishes (shown above). 'orgsync connection test NAME' checks it.",
  idp_discovery_invalid: "Fix the identity provider's OpenID configuration, or the connection's issuer. 'orgsync connection test NAME' lists each check.",
};

/** Short, unguessable enough to be unique in a day of logs, easy to read out on the phone. */
export const newReference = (): string => randomBytes(5).toString('hex');

export function adminHint(code: string): string | null {
  return ADMIN_HINTS[code] ?? null;
}

/** The page body: what happened in plain words, what the IT admin can change, and the log reference. */
export function errorPageBody(message: string, reason: string, ref: string): string {
  const hint = adminHint(reason);
  return [
    '<h1>Sign-in failed</h1>',
    `<p>${escapeHtml(message)}</p>`,
    hint ? `<h2>For your IT admin</h2><p>${escapeHtml(hint)}</p>` : '',
    `<p class="muted">Reason: <code>${escapeHtml(reason)}</code> · Reference: <code>${escapeHtml(ref)}</code> (give it to your IT admin: it finds this sign-in in the server log)</p>`,
    '<p><a href="/account">Your account</a></p>',
  ].join('');
}
