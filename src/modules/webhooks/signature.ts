import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'Orgsync-Signature';

/** `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` — the receiver checks it with verify.ts. */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}
