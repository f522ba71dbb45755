import { randomBytes } from 'node:crypto';
import { macTag, tagsEqual } from '../../../platform/sealed.js';
import { PRE_LOGIN_TTL_MS } from '../pre-login-cookie.js';

const NONCE_BYTES = 12;
const TIME_BYTES = 6;
const TAG_BYTES = 16;
const LENGTH = NONCE_BYTES + TIME_BYTES + TAG_BYTES;

/**
 * AuthnRequest ids that prove themselves: `_` + base64url(nonce, issue time, HMAC over both and
 * the connection id). Starting a sign-in writes nothing; the ACS recognises its own ids for this
 * connection and this time window without a lookup. That an id answers one response only is kept
 * in the database once a validly signed response for it arrives (see consumeRequestId).
 */
export class RequestIds {
  constructor(private readonly key: Buffer) {}

  issue(connectionId: string, nowMs: number): string {
    const body = Buffer.alloc(NONCE_BYTES + TIME_BYTES);
    randomBytes(NONCE_BYTES).copy(body, 0);
    body.writeUIntBE(Math.floor(nowMs), NONCE_BYTES, TIME_BYTES);
    // The leading underscore keeps it an xsd:ID (an NCName), whatever base64url starts with.
    return `_${Buffer.concat([body, this.tag(connectionId, body)]).toString('base64url')}`;
  }

  /** When the id was issued, if this service issued it for this connection less than the TTL ago. */
  verify(connectionId: string, id: string, nowMs: number): { issuedAtMs: number } | null {
    if (!/^_[A-Za-z0-9_-]+$/.test(id)) return null;
    const raw = Buffer.from(id.slice(1), 'base64url');
    // One text per id: base64url decoding ignores trailing bits, and an id is used up by its text.
    if (raw.length !== LENGTH || raw.toString('base64url') !== id.slice(1)) return null;
    const body = raw.subarray(0, NONCE_BYTES + TIME_BYTES);
    if (!tagsEqual(raw.subarray(NONCE_BYTES + TIME_BYTES), this.tag(connectionId, body))) return null;
    const issuedAtMs = body.readUIntBE(NONCE_BYTES, TIME_BYTES);
    // A little allowance for instances whose clocks differ; never an id from the far future.
    if (issuedAtMs > nowMs + 60_000 || nowMs - issuedAtMs >= PRE_LOGIN_TTL_MS) return null;
    return { issuedAtMs };
  }

  private tag(connectionId: string, body: Buffer): Buffer {
    return macTag(this.key, ['saml-request-id/v1', connectionId, body], TAG_BYTES);
  }
}
