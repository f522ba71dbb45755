import * as client from 'openid-client';
import { AppError } from '../../../platform/errors.js';
import { ssoFailure } from '../errors.js';

/** OAuth error codes are ASCII tokens (RFC 6749 §5.2); anything else from the OP is not shown. */
const oauthCode = (v: unknown): string | null => (typeof v === 'string' && /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,100}$/.test(v) ? v : null);
const shortText = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim().slice(0, 300) : null);

/**
 * openid-client's message names the kind of failure ("unexpected JWT claim value encountered"); the
 * check that failed ("unexpected ID Token "nonce" claim value") is its cause's message. Only
 * messages are kept: the cause itself carries the token's claims.
 */
export function failureWhy(err: unknown): string {
  const message = (err as Error).message;
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message && cause.message !== message ? `${message}: ${cause.message}` : message;
}

/**
 * A failed callback: the person's refusal at the OP (`error=access_denied` on the redirect), an
 * OAuth error the OP answered (on the redirect or from the token endpoint, with its own code), or a
 * response that failed our checks (`invalid_response`).
 */
export function callbackFailure(err: unknown): AppError {
  if (err instanceof client.AuthorizationResponseError || err instanceof client.ResponseBodyError) {
    const code = oauthCode(err.error) ?? 'unknown_error';
    const description = shortText(err.error_description);
    const where = err instanceof client.ResponseBodyError ? 'token endpoint' : 'authorization response';
    if (code === 'access_denied' && err instanceof client.AuthorizationResponseError) return ssoFailure('access_denied', { why: description ?? 'access_denied' });
    return ssoFailure('idp_error', { why: `${where}: ${code}${description ? `: ${description}` : ''}`, oauthError: code, oauthErrorDescription: description ?? undefined });
  }
  return ssoFailure('invalid_response', { why: failureWhy(err) });
}

/**
 * A failed discovery: "could not be reached" only when it was not reached; an OP that answered with
 * a document naming another issuer (`localhost` for `127.0.0.1`, a trailing path) or with an
 * unusable document is misconfigured, and says what to change.
 */
export function discoveryFailure(err: unknown, expectedIssuer: string): AppError {
  const cause = (err as { cause?: unknown }).cause as { attribute?: unknown; body?: { issuer?: unknown } } | undefined;
  const code = (err as { code?: unknown }).code;
  if (err instanceof client.ClientError && code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED' && cause?.attribute === 'issuer') {
    const published = shortText(cause.body?.issuer) ?? '(none)';
    return new AppError('idp_issuer_mismatch', 502, `The identity provider answered, but its discovery document names the issuer "${published}", not "${expectedIssuer}". Set the connection's issuer to exactly the published value.`, {
      expose: true,
      detail: { why: failureWhy(err), published_issuer: published },
    });
  }
  // Timeouts and aborts come as ClientErrors too, but nothing answered.
  const reached = (err instanceof client.ClientError && code !== 'OAUTH_TIMEOUT' && code !== 'OAUTH_ABORT') || err instanceof client.ResponseBodyError;
  if (reached) {
    return new AppError('idp_discovery_invalid', 502, `The identity provider answered, but its discovery document (${expectedIssuer}/.well-known/openid-configuration) could not be used: ${failureWhy(err).slice(0, 300)}.`, {
      expose: true,
      detail: { why: failureWhy(err) },
    });
  }
  return new AppError('idp_unavailable', 502, 'The identity provider could not be reached.', { expose: true, detail: { why: failureWhy(err) } });
}
