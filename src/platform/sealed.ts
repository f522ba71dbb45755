import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived values a client carries for us instead of a database row (pre-login cookies):
 * AES-256-GCM under a key of their own, with the purpose and a context (the connection) as
 * associated data, and the expiry inside. A value sealed for one purpose or one connection never
 * opens as another, a stale one never opens, and the client can neither read nor change it.
 */
export class Sealer {
  constructor(private readonly key: Buffer, private readonly purpose: string) {
    if (key.length !== 32) throw new Error('Sealer needs a 32-byte key');
  }

  seal(value: unknown, context: string, expiresAtMs: number): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(this.aad(context));
    const body = Buffer.concat([cipher.update(JSON.stringify({ x: expiresAtMs, v: value }), 'utf8'), cipher.final()]);
    return `${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
  }

  /** The sealed value, or undefined when it is malformed, forged, for another context, or expired. */
  open(sealed: string, context: string, nowMs: number): unknown {
    const [iv, tag, body, extra] = sealed.split('.');
    if (!iv || !tag || body === undefined || extra !== undefined) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(this.aad(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const plain = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      const parsed = JSON.parse(plain) as { x?: unknown; v?: unknown };
      if (typeof parsed.x !== 'number' || parsed.x <= nowMs) return undefined;
      return parsed.v;
    } catch {
      return undefined;
    }
  }

  private aad(context: string): Buffer {
    return Buffer.from(`${this.purpose}\n${context}`, 'utf8');
  }
}

/** A truncated HMAC-SHA256 tag, and its constant-time check: for self-authenticating identifiers. */
export function macTag(key: Buffer, parts: ReadonlyArray<string | Buffer>, bytes = 16): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    // Length-prefixed, so ("ab","c") and ("a","bc") never give the same tag.
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    h.update(len).update(b);
  }
  return h.digest().subarray(0, bytes);
}

export const tagsEqual = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);
