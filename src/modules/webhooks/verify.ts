/**
 * Verifies an `Orgsync-Signature` header on a webhook request. Self-contained (node:crypto only) so
 * receivers can import or copy it.
 *
 * The header is `t=<unix seconds>,v1=<hex HMAC-SHA256>`; the HMAC key is the endpoint's secret
 * (the UTF-8 string shown once at creation) and the signed message is `<t>.<raw request body>`.
 * Several `v1=` entries may appear; any one matching is enough.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'missing_header' | 'malformed_header' | 'timestamp_out_of_tolerance' | 'signature_mismatch' };

export interface VerifyOptions {
  /** How far the signed timestamp may be from now, in seconds (default 300). Replays older than this fail. */
  toleranceSeconds?: number;
  /** The current time in unix seconds (default: the system clock). */
  now?: number;
}

export function verifyOrgsyncSignature(
  header: string | null | undefined,
  rawBody: string | Buffer,
  secret: string,
  options: VerifyOptions = {},
): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing_header' };
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed_header' };
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return { ok: false, reason: 'timestamp_out_of_tolerance' };
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
  const match = signatures.some((s) => timingSafeEqual(s, expected));
  return match ? { ok: true, timestamp } : { ok: false, reason: 'signature_mismatch' };
}
