import { randomBytes } from 'node:crypto';
import type { SelfSigned } from './peers.js';

/**
 * FOR DEMONSTRATION ONLY: a signing key and self-signed certificate for the demo SAML IdP, made
 * fresh at every start and kept only in memory (nothing is written to disk or committed).
 */
export interface DemoSigningKey {
  key: string;
  cert: string;
}

export async function generateSigningKey(selfsigned: SelfSigned): Promise<DemoSigningKey> {
  const now = new Date();
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'orgsync demo IdP (for demonstration only)' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 7 * 24 * 3600_000),
  });
  return { key: pems.private, cert: pems.cert };
}

/** Random secrets for the demo OpenID Provider's cookies and its client. */
export const demoSecret = (bytes = 24): string => randomBytes(bytes).toString('base64url');
