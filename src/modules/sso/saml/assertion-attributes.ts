import { DOMParser } from '@xmldom/xmldom';

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

/**
 * Names of the attributes a verified assertion releases without any value. node-saml leaves them out
 * of the profile, which would make "the IdP sent an empty groups list" look like "the IdP sent no
 * groups attribute"; the first may flag lost access, the second never does.
 */
export function attributesWithoutValues(assertionXml: string): string[] {
  const doc = new DOMParser({ errorHandler: { warning: () => {}, error: () => {}, fatalError: () => {} } }).parseFromString(assertionXml, 'text/xml');
  const names: string[] = [];
  for (const attr of Array.from(doc.getElementsByTagNameNS(SAML, 'Attribute'))) {
    const name = attr.getAttribute('Name');
    if (name && attr.getElementsByTagNameNS(SAML, 'AttributeValue').length === 0) names.push(name);
  }
  return names;
}
