import { generateKeyPairSync, publicEncrypt, constants } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyForEncryptedAssertion, MAX_WRAPPED_KEYS, wrappedKeysOf } from '../../src/modules/sso/saml/decryption-key.js';
import type { UsableSpKey } from '../../src/modules/connections/sp-keys.js';

const ENC = 'http://www.w3.org/2001/04/xmlenc#';
const encryptedKey = (cipher: string, algorithm = `${ENC}rsa-oaep-mgf1p`) =>
  `<e:EncryptedKey xmlns:e="${ENC}"><e:EncryptionMethod Algorithm="${algorithm}"/><e:CipherData><e:CipherValue>${cipher}</e:CipherValue></e:CipherData></e:EncryptedKey>`;
const assertion = (keys: string[]) =>
  `<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><e:EncryptedData xmlns:e="${ENC}"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">${keys.join('')}</ds:KeyInfo></e:EncryptedData></saml:EncryptedAssertion>`;

function spKey(): { key: UsableSpKey; wrap: (data: Buffer) => string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const key = { privateKeyPem: () => pem } as unknown as UsableSpKey;
  return { key, wrap: (data) => publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, data).toString('base64') };
}

describe('which encryption key an EncryptedAssertion was encrypted to (before its response is authenticated)', () => {
  it('finds the key that unwraps it, and not another one', () => {
    const mine = spKey();
    const other = spKey();
    const xml = assertion([encryptedKey(mine.wrap(Buffer.alloc(32, 7)))]);
    expect(keyForEncryptedAssertion(xml, [other.key, mine.key])).toBe(mine.key);
    expect(keyForEncryptedAssertion(xml, [other.key])).toBeUndefined();
  });

  it('tries only the first few wrapped keys, only RSA-OAEP ones of the modulus length: a body stuffed with thousands costs no more', () => {
    const mine = spKey();
    const stuffed = assertion([...Array.from({ length: 1700 }, () => encryptedKey('AA', '#rsa-oaep')), encryptedKey(mine.wrap(Buffer.alloc(32, 7)))]);
    expect(wrappedKeysOf(stuffed)).toEqual([]); // the first two are neither RSA-OAEP by name nor tried
    expect(keyForEncryptedAssertion(stuffed, [mine.key])).toBeUndefined();
    const short = assertion([encryptedKey('AA'), encryptedKey('AA'), encryptedKey('AA')]);
    expect(wrappedKeysOf(short)).toHaveLength(MAX_WRAPPED_KEYS);
    expect(keyForEncryptedAssertion(short, [mine.key])).toBeUndefined();
  });
});
