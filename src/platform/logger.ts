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

/** Log lines gather until this many bytes are waiting (about 30 request lines), then go out in one write. */
export const LOG_BLOCK_BYTES = 4096;
/** …or this long after a line arrived, whichever comes first: a quiet server's lines still show at once. */
export const LOG_FLUSH_MS = 100;

/**
 * Standard output in blocks. pino's default destination writes each line by itself through the
 * thread pool; at the default level (`info`) that is one write per request, which cost 0.07–0.12 ms
 * of CPU per line on a 2-core machine (a thread-pool hand-off and its completion each time) — a
 * third of a SCIM lookup's own work. Here lines wait for LOG_BLOCK_BYTES or LOG_FLUSH_MS. Whatever is
 * still waiting is written when the process exits (pino's exit hook for asynchronous destinations),
 * so only a process killed outright can lose the last tenth of a second of lines.
 */
export function stdoutInBlocks(blockBytes = LOG_BLOCK_BYTES, flushMs = LOG_FLUSH_MS): DestinationStream {
  const out = pino.destination({ dest: 1, sync: false, minLength: blockBytes });
  // Bytes handed to `out` and not yet written. A flush asked for while a write is under way does
  // nothing, so the timer comes back while bytes are still waiting — unless none went out since it
  // last looked (standard output closed or stuck): then the next line, or the exit, writes them.
  let waiting = 0;
  let timer: NodeJS.Timeout | undefined;
  out.on('write', (n: number) => {
    waiting = Math.max(0, waiting - n);
  });
  const flushLater = (lastSeen = -1) => {
    timer = setTimeout(() => {
      timer = undefined;
      if (waiting === 0) return; // a full block already took everything: no empty write
      out.flush();
      if (waiting !== lastSeen) flushLater(waiting);
    }, flushMs);
    timer.unref();
  };
  return {
    write(line: string) {
      out.write(line);
      waiting += Buffer.byteLength(line);
      if (!timer) flushLater();
    },
  };
}

/** A logger with secrets redacted, to `destination` or else to standard output in blocks. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination ?? stdoutInBlocks());
}
