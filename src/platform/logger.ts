import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths never written to logs: credentials, cookies and SAML/OIDC payloads. The OIDC authorization
 * code is named by where it travels (the callback's query string), not by the key `code` anywhere:
 * that would also hide the error codes logs exist to show (SQLITE_BUSY, 23505, ECONNREFUSED,
 * idp_unavailable).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.token',
  '*.key',
  '*.secret',
  '*.client_secret',
  '*.password',
  '*.SAMLResponse',
  '*.SAMLRequest',
  '*.id_token',
  '*.access_token',
  'query.code',
  '*.query.code',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}
