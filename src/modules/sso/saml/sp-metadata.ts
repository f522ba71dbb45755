import type { SpKeySet } from '../../connections/sp-keys.js';

const xmlText = (v: string): string => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** What xml-encryption (node-saml's decrypter) opens: content ciphers, and RSA-OAEP key transport. */
const CONTENT_ALGORITHMS = [
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
];
const KEY_TRANSPORT = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';

const keyInfo = (certificate: string) => `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;

/**
 * SP metadata with every live key: the current and (during a rotation's overlap) the previous
 * signing certificate, and the encryption certificates with the algorithms we decrypt, current
 * first (IdPs that take one encryption key take the first). node-saml's own generator publishes one
 * encryption certificate only, which would hide the key a rotation keeps decrypting with.
 */
export function spMetadataXml(sp: { entityId: string; acsUrl: string; nameIdFormat: string | null; authnRequestsSigned: boolean }, keys: SpKeySet): string {
  const signing = keys.signing.map((k) => `<KeyDescriptor use="signing">${keyInfo(k.certificate)}</KeyDescriptor>`);
  const encryption = keys.encryption.map(
    (k) => `<KeyDescriptor use="encryption">${keyInfo(k.certificate)}${[...CONTENT_ALGORITHMS, KEY_TRANSPORT].map((a) => `<EncryptionMethod Algorithm="${a}"/>`).join('')}</KeyDescriptor>`,
  );
  return [
    '<?xml version="1.0"?>',
    `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${xmlText(sp.entityId)}">`,
    `<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="${sp.authnRequestsSigned}">`,
    ...signing,
    ...encryption,
    sp.nameIdFormat ? `<NameIDFormat>${xmlText(sp.nameIdFormat)}</NameIDFormat>` : '',
    `<AssertionConsumerService index="1" isDefault="true" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${xmlText(sp.acsUrl)}"/>`,
    '</SPSSODescriptor>',
    '</EntityDescriptor>',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}
