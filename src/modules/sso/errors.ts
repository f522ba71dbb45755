import { AppError } from '../../platform/errors.js';

/** SPEC §6 reason codes of the SSO failure page. */
export type SsoFailureReason = 'invalid_response' | 'subject_not_persistent' | 'encryption_required' | 'access_denied' | 'idp_error' | 'replay' | 'email_domain_not_verified' | 'user_deactivated' | 'unknown_connection';

const STATUS: Record<SsoFailureReason, number> = {
  invalid_response: 400,
  subject_not_persistent: 400,
  encryption_required: 400,
  access_denied: 403,
  idp_error: 400,
  replay: 400,
  email_domain_not_verified: 403,
  user_deactivated: 403,
  unknown_connection: 404,
};

const MESSAGE: Record<SsoFailureReason, string> = {
  invalid_response: 'The sign-in response from your identity provider could not be accepted.',
  subject_not_persistent: 'Your identity provider identified you with a one-time (transient) name that changes at every sign-in, and sent nothing else that stays the same, so this sign-in cannot be matched to your account.',
  encryption_required: 'This sign-in connection accepts only encrypted assertions, and your identity provider sent one that is not encrypted.',
  access_denied: 'The sign-in was refused at your identity provider: you declined the request, or it does not allow you to use this application.',
  idp_error: 'Your identity provider answered the sign-in with an error.',
  replay: 'This sign-in response was already used. Start the sign-in again.',
  email_domain_not_verified: 'Your email domain is not verified for this sign-in connection.',
  user_deactivated: 'Your account was deactivated by your identity provider.',
  unknown_connection: 'This sign-in connection does not exist.',
};

/**
 * A failed sign-in: rendered as the SSO error page, or JSON for `Accept: application/json`.
 * `why` goes to the log only; `message`, when given, replaces the reason's standard text for the
 * person signing in (it must be safe to show). An OP's OAuth error code and description are shown.
 */
export const ssoFailure = (reason: SsoFailureReason, detail?: { why?: string; userId?: string; message?: string; oauthError?: string; oauthErrorDescription?: string }): AppError => {
  const { message, ...logged } = detail ?? {};
  return new AppError(reason, STATUS[reason], message ?? oauthMessage(reason, detail), { expose: true, detail: detail ? logged : undefined });
};

/** The OP's own OAuth error code (a checked ASCII token) and description say more than our sentence alone. */
function oauthMessage(reason: SsoFailureReason, detail?: { oauthError?: string; oauthErrorDescription?: string }): string {
  if (reason !== 'idp_error' || !detail?.oauthError) return MESSAGE[reason];
  return `${MESSAGE[reason].slice(0, -1)}: ${detail.oauthError}${detail.oauthErrorDescription ? ` (${detail.oauthErrorDescription})` : ''}.`;
}

export const isSsoReason = (code: string): code is SsoFailureReason => code in STATUS;
