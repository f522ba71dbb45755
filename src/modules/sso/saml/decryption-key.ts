import { constants, createPrivateKey, privateDecrypt } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import type { UsableSpKey } from '../../connections/sp-keys.js';

const XMLENC = 'http://www.w3.org/2001/04/xmlenc#';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const RSA_OAEP = new Set(['http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p', 'http://www.w3.org/2009/xmlenc11#rsa-oaep']);
const OAEP_DIGESTS: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};

/**
 * Which of the connection's encryption keys an EncryptedAssertion was encrypted to (the current one,
 * or the previous one while a rotation overlaps): the key whose RSA-OAEP unwrap of an EncryptedKey
 * succeeds. OAEP's padding check makes a wrong key fail rather than give a wrong content key.
 * node-saml takes one decryption key; it then decrypts (and verifies) with the one found here.
 * Undefined when none of them opens it, e.g. an assertion encrypted for another connection.
 */
export function keyForEncryptedAssertion(encryptedAssertionXml: string, keys: readonly UsableSpKey[]): UsableSpKey | undefined {
  const wrapped = wrappedKeysOf(encryptedAssertionXml);
  for (const key of keys) {
    const pem = key.privateKeyPem();
    const modulusBytes = (createPrivateKey(pem).asymmetricKeyDetails?.modulusLength ?? 0) / 8;
    for (const w of wrapped) {
      // An RSA ciphertext is exactly as long as the modulus: anything else is not for this key.
      if (w.cipher.length !== modulusBytes) continue;
      try {
        privateDecrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: w.oaepHash }, w.cipher);
        return key;
      } catch {
        // Not this key.
      }
    }
  }
  return undefined;
}

/**
 * At most this many EncryptedKeys of a response are tried (an IdP sends one per recipient, and we
 * are one): each try is an RSA private-key operation, and the response has not been authenticated
 * yet, so a body stuffed with thousands of them must not cost thousands of them.
 */
export const MAX_WRAPPED_KEYS = 2;

/** The RSA-OAEP wrapped keys of an EncryptedAssertion, the first MAX_WRAPPED_KEYS of them. */
export function wrappedKeysOf(encryptedAssertionXml: string): Array<{ cipher: Buffer; oaepHash: string }> {
  const doc = new DOMParser({ errorHandler: { warning: () => {}, error: () => {}, fatalError: () => {} } }).parseFromString(encryptedAssertionXml, 'text/xml');
  const out: Array<{ cipher: Buffer; oaepHash: string }> = [];
  for (const ek of Array.from(doc.getElementsByTagNameNS(XMLENC, 'EncryptedKey')).slice(0, MAX_WRAPPED_KEYS)) {
    const method = Array.from(ek.getElementsByTagNameNS(XMLENC, 'EncryptionMethod'))[0];
    const value = Array.from(ek.getElementsByTagNameNS(XMLENC, 'CipherValue'))[0]?.textContent?.replace(/\s+/g, '');
    if (!method || !value || !RSA_OAEP.has(method.getAttribute('Algorithm') ?? '')) continue;
    // rsa-oaep-mgf1p digests with SHA-1 unless it says otherwise; xmlenc11#rsa-oaep names its digest too.
    const digest = Array.from(method.getElementsByTagNameNS(DSIG, 'DigestMethod'))[0]?.getAttribute('Algorithm');
    out.push({ cipher: Buffer.from(value, 'base64'), oaepHash: (digest && OAEP_DIGESTS[digest]) || 'sha1' });
  }
  return out;
}
