import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';

/**
 * FOR DEMONSTRATION ONLY: a signing key and self-signed certificate for the demo SAML IdP, made
 * fresh at every start with node:crypto and kept only in memory (nothing is written or committed).
 * Node can verify certificates but not issue them, so the few DER structures of a minimal X.509 v3
 * certificate are encoded here.
 */
export interface DemoSigningKey {
  key: string;
  cert: string;
}

const len = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
const oid = (dotted: string): Buffer => {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
};
const utcTime = (d: Date) => tlv(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));
const name = (cn: string) => seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
const SHA256_WITH_RSA = seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));

/**
 * A DER INTEGER serial from random bytes: positive (high bit clear) and minimally encoded (no leading
 * zero byte, which X.509 parsers reject as illegal padding), so the first byte is 0x01-0x7f.
 */
export function certificateSerial(random: Buffer): Buffer {
  const serial = Buffer.from(random);
  serial[0] = (serial[0]! & 0x7f) || 0x01;
  return serial;
}

export function generateSigningKey(commonName = 'orgsync demo IdP - for demonstration only', now = new Date()): DemoSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serial = certificateSerial(randomBytes(16));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    SHA256_WITH_RSA,
    name(commonName),
    seq(utcTime(new Date(now.getTime() - 60_000)), utcTime(new Date(now.getTime() + 7 * 24 * 3600_000))),
    name(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, SHA256_WITH_RSA, tlv(0x03, Buffer.from([0]), signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  // Fails loudly if the encoding above were ever wrong.
  if (!new X509Certificate(cert).verify(publicKey)) throw new Error('demo certificate does not verify');
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert };
}

/** Random secrets for the demo OpenID Provider's cookies and its client. */
export const demoSecret = (bytes = 24): string => randomBytes(bytes).toString('base64url');
