import { constants, privateDecrypt } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import type { UsableSpKey } from '../../connections/sp-keys.js';

const XMLENC = 'http://www.w3.org/2001/04/xmlenc#';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
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
  const doc = new DOMParser({ errorHandler: { warning: () => {}, error: () => {}, fatalError: () => {} } }).parseFromString(encryptedAssertionXml, 'text/xml');
  const wrapped = Array.from(doc.getElementsByTagNameNS(XMLENC, 'EncryptedKey')).flatMap((ek) => {
    const method = Array.from(ek.getElementsByTagNameNS(XMLENC, 'EncryptionMethod'))[0];
    const value = Array.from(ek.getElementsByTagNameNS(XMLENC, 'CipherValue'))[0]?.textContent?.replace(/\s+/g, '');
    if (!method || !value) return [];
    const algorithm = method.getAttribute('Algorithm') ?? '';
    // rsa-oaep-mgf1p digests with SHA-1 unless it says otherwise; xmlenc11#rsa-oaep names its digest too.
    const digest = Array.from(method.getElementsByTagNameNS(DSIG, 'DigestMethod'))[0]?.getAttribute('Algorithm');
    if (!/#rsa-oaep(-mgf1p)?$/.test(algorithm)) return [];
    return [{ cipher: Buffer.from(value, 'base64'), oaepHash: (digest && OAEP_DIGESTS[digest]) || 'sha1' }];
  });
  for (const key of keys) {
    const pem = key.privateKeyPem();
    for (const w of wrapped) {
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
