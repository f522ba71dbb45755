import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { certificateSerial, pemCertificate, selfSignedCertificate } from '../platform/x509.js';

/**
 * FOR DEMONSTRATION ONLY: a signing key and self-signed certificate for the demo SAML IdP, made
 * fresh at every start with node:crypto and kept only in memory (nothing is written or committed).
 * The certificate comes from the same small encoder the SP keys use (src/platform/x509.ts).
 */
export interface DemoSigningKey {
  key: string;
  cert: string;
}

export { certificateSerial };

export function generateSigningKey(commonName = 'orgsync demo IdP - for demonstration only', now = new Date()): DemoSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // A week: the demo's keys live only as long as its process.
  const cert = pemCertificate(selfSignedCertificate({ privateKey, publicKey, commonName, serial: randomBytes(16), notBefore: now, notAfter: new Date(now.getTime() + 7 * 24 * 3600_000) }));
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert };
}

/** Random secrets for the demo OpenID Provider's cookies and its client. */
export const demoSecret = (bytes = 24): string => randomBytes(bytes).toString('base64url');
