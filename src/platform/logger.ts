import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Paths never written to logs: credentials, cookies and SAML/OIDC payloads. */
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
  '*.code',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}
