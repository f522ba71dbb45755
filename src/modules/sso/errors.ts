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

/** A failed sign-in: rendered as the SSO error page, or JSON for `Accept: application/json`. */
export const ssoFailure = (reason: SsoFailureReason, detail?: { why?: string; userId?: string }): AppError =>
  new AppError(reason, STATUS[reason], MESSAGE[reason], { expose: true, detail });

export const isSsoReason = (code: string): code is SsoFailureReason => code in STATUS;
