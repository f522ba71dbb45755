import { DOMParser } from '@xmldom/xmldom';
import { X509Certificate } from 'node:crypto';
import { invalidBody } from '../../platform/errors.js';
import type { SamlIdp, SamlIdpInput } from './schema.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

/** Accepts PEM or bare base64; returns the bare base64 body after checking it is a certificate. */
export function normaliseCertificate(input: string, field: string): string {
  const body = input.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  try {
    new X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    throw invalidBody(`Invalid request body: ${field}: not an X.509 certificate (PEM or base64).`);
  }
  return body;
}

export const toPem = (body: string): string => `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;

/**
 * Reads the entity id, the HTTP-Redirect SSO URL and the signing certificates from IdP metadata.
 * Documents with a DOCTYPE are refused outright: metadata never needs one, entities only attack.
 */
export function parseIdpMetadata(xml: string): SamlIdp {
  const bad = (why: string) => invalidBody(`Invalid request body: idp.metadata_xml: ${why}.`);
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw bad('DOCTYPE and entity declarations are not allowed');
  const errors: string[] = [];
  const doc = new DOMParser({
    errorHandler: { warning: () => {}, error: (m: string) => errors.push(m), fatalError: (m: string) => errors.push(m) },
  }).parseFromString(xml, 'text/xml');
  if (errors.length || !doc?.documentElement) throw bad('not well-formed XML');
  const root = doc.documentElement;
  const entity = root.localName === 'EntityDescriptor' && root.namespaceURI === MD ? root : root.getElementsByTagNameNS(MD, 'EntityDescriptor')[0];
  const entityId = entity?.getAttribute('entityID');
  if (!entity || !entityId) throw bad('no EntityDescriptor with an entityID');
  const idp = entity.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0];
  if (!idp) throw bad('no IDPSSODescriptor');
  const services = Array.from(idp.getElementsByTagNameNS(MD, 'SingleSignOnService'));
  const sso = services.find((s) => s.getAttribute('Binding') === REDIRECT) ?? services[0];
  const ssoUrl = sso?.getAttribute('Location');
  if (!ssoUrl || !/^https?:\/\//.test(ssoUrl)) throw bad('no SingleSignOnService location');
  const certificates: string[] = [];
  for (const kd of Array.from(idp.getElementsByTagNameNS(MD, 'KeyDescriptor'))) {
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const c of Array.from(kd.getElementsByTagNameNS(DS, 'X509Certificate'))) {
      const body = normaliseCertificate(c.textContent ?? '', 'idp.metadata_xml');
      if (!certificates.includes(body)) certificates.push(body);
    }
  }
  if (certificates.length === 0) throw bad('no signing certificate');
  // Lasso (LemonLDAP::NG), Shibboleth and others say here that they refuse unsigned requests.
  const wantsSigned = idp.getAttribute('WantAuthnRequestsSigned') === 'true' || idp.getAttribute('WantAuthnRequestsSigned') === '1';
  return { entity_id: entityId, sso_url: ssoUrl, certificates, ...(wantsSigned ? { want_authn_requests_signed: true } : {}) };
}

export function toSamlIdp(input: SamlIdpInput): SamlIdp {
  if ('metadata_xml' in input) return parseIdpMetadata(input.metadata_xml);
  return {
    entity_id: input.entity_id,
    sso_url: input.sso_url,
    certificates: input.certificates.map((c, i) => normaliseCertificate(c, `idp.certificates.${i}`)),
  };
}
