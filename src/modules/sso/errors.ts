import { AppError } from '../../platform/errors.js';

/** SPEC §6 reason codes of the SSO failure page. */
export type SsoFailureReason = 'invalid_response' | 'replay' | 'email_domain_not_verified' | 'user_deactivated' | 'unknown_connection';

const STATUS: Record<SsoFailureReason, number> = {
  invalid_response: 400,
  replay: 400,
  email_domain_not_verified: 403,
  user_deactivated: 403,
  unknown_connection: 404,
};

const MESSAGE: Record<SsoFailureReason, string> = {
  invalid_response: 'The sign-in response from your identity provider could not be accepted.',
  replay: 'This sign-in response was already used. Start the sign-in again.',
  email_domain_not_verified: 'Your email domain is not verified for this sign-in connection.',
  user_deactivated: 'Your account was deactivated by your identity provider.',
  unknown_connection: 'This sign-in connection does not exist.',
};

/**
 * A failed sign-in: rendered as the SSO error page, or JSON for `Accept: application/json`.
 * `why` goes to the log only; `message`, when given, replaces the reason's standard text for the
 * person signing in (it must be safe to show).
 */
export const ssoFailure = (reason: SsoFailureReason, detail?: { why?: string; userId?: string; message?: string }): AppError => {
  const { message, ...logged } = detail ?? {};
  return new AppError(reason, STATUS[reason], message ?? MESSAGE[reason], { expose: true, detail: detail ? logged : undefined });
};

export const isSsoReason = (code: string): code is SsoFailureReason => code in STATUS;
