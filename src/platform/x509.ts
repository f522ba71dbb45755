import { sign, X509Certificate, type KeyObject } from 'node:crypto';

/**
 * A minimal self-signed X.509 v3 certificate (SHA-256 with RSA) around a key pair. SAML metadata
 * carries public keys only inside certificates; Node can verify certificates but not issue them, so
 * the few DER structures needed are encoded here. Nobody validates an SP certificate's chain or
 * dates (the IdP trusts the key it was given), so it is self-signed with a long validity.
 */
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
/** UTCTime up to 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
const time = (d: Date) => {
  const digits = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
};
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

/** The certificate as bare base64 DER (no PEM armour), valid from a minute before `notBefore`. */
export function selfSignedCertificate(opts: { privateKey: KeyObject; publicKey: KeyObject; commonName: string; serial: Buffer; notBefore: Date; notAfter: Date }): string {
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, certificateSerial(opts.serial)),
    SHA256_WITH_RSA,
    name(opts.commonName),
    seq(time(new Date(opts.notBefore.getTime() - 60_000)), time(opts.notAfter)),
    name(opts.commonName),
    opts.publicKey.export({ type: 'spki', format: 'der' }),
  );
  const der = seq(tbs, SHA256_WITH_RSA, tlv(0x03, Buffer.from([0]), sign('sha256', tbs, opts.privateKey)));
  // Fails loudly if the encoding above were ever wrong.
  if (!new X509Certificate(der).verify(opts.publicKey)) throw new Error('self-signed certificate does not verify');
  return der.toString('base64');
}

/** SHA-256 fingerprint (`AB:CD:…`) of a base64 DER certificate: how audit events and pages name a certificate. */
export const fingerprintOf = (base64Der: string): string => new X509Certificate(Buffer.from(base64Der, 'base64')).fingerprint256;

export const pemCertificate = (base64Der: string): string => `-----BEGIN CERTIFICATE-----\n${base64Der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
