import { DOMParser } from '@xmldom/xmldom';
import { X509Certificate } from 'node:crypto';
import { AppError, invalidBody } from '../../platform/errors.js';
import type { SamlIdp, SamlIdpInput } from './schema.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

const bareBase64 = (input: string): string => input.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

const isCertificate = (body: string): boolean => {
  try {
    new X509Certificate(Buffer.from(body, 'base64'));
    return true;
  } catch {
    return false;
  }
};

/** Accepts PEM or bare base64; returns the bare base64 body after checking it is a certificate. */
export function normaliseCertificate(input: string, field: string): string {
  const body = bareBase64(input);
  if (!isCertificate(body)) throw invalidBody(`Invalid request body: ${field}: not an X.509 certificate (PEM or base64).`);
  return body;
}


/** Why a metadata document cannot be used, in words that fit after "the metadata …: ". */
export class MetadataProblem extends Error {}

export interface ParsedIdpMetadata extends SamlIdp {
  /** The earliest `validUntil` of the entity and the documents around it, if any. */
  valid_until: string | null;
}

export interface MetadataExpectations {
  /** Only this entity is read (an aggregate may list many); its absence is a problem, not another entity. */
  entityId?: string;
  /** Metadata whose `validUntil` has passed is refused. */
  now?: Date;
}

/**
 * Reads the entity id, the HTTP-Redirect SSO URL and the signing certificates from IdP metadata.
 * Documents with a DOCTYPE are refused outright: metadata never needs one, entities only attack.
 * Throws MetadataProblem.
 */
export function readIdpMetadata(xml: string, expect: MetadataExpectations = {}): ParsedIdpMetadata {
  const bad = (why: string) => new MetadataProblem(why);
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw bad('DOCTYPE and entity declarations are not allowed');
  const errors: string[] = [];
  const doc = new DOMParser({
    errorHandler: { warning: () => {}, error: (m: string) => errors.push(m), fatalError: (m: string) => errors.push(m) },
  }).parseFromString(xml, 'text/xml');
  if (errors.length || !doc?.documentElement) throw bad('not well-formed XML');
  const root = doc.documentElement;
  const all = root.localName === 'EntityDescriptor' && root.namespaceURI === MD ? [root] : Array.from(root.getElementsByTagNameNS(MD, 'EntityDescriptor'));
  const withIdp = all.filter((e) => e.getElementsByTagNameNS(MD, 'IDPSSODescriptor').length > 0);
  let entity: Element | undefined;
  if (expect.entityId !== undefined) {
    entity = all.find((e) => e.getAttribute('entityID') === expect.entityId);
    if (!entity) {
      const found = (withIdp[0] ?? all[0])?.getAttribute('entityID');
      throw bad(found ? `its entity id is ${found}, not ${expect.entityId}` : `it has no EntityDescriptor for ${expect.entityId}`);
    }
  } else {
    entity = withIdp[0] ?? all[0];
  }
  const entityId = entity?.getAttribute('entityID');
  if (!entity || !entityId) throw bad('no EntityDescriptor with an entityID');
  const idp = entity.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0];
  if (!idp) throw bad('no IDPSSODescriptor');
  const validUntil = validUntilOf(entity);
  if (validUntil && Number.isNaN(Date.parse(validUntil))) throw bad(`validUntil ${validUntil} is not a date`);
  if (validUntil && expect.now && Date.parse(validUntil) <= expect.now.getTime()) throw bad(`it expired at ${new Date(validUntil).toISOString()} (validUntil)`);
  const services = Array.from(idp.getElementsByTagNameNS(MD, 'SingleSignOnService'));
  const sso = services.find((s) => s.getAttribute('Binding') === REDIRECT) ?? services[0];
  const ssoUrl = sso?.getAttribute('Location');
  if (!ssoUrl || !/^https?:\/\//.test(ssoUrl)) throw bad('no SingleSignOnService location');
  const certificates: string[] = [];
  for (const kd of Array.from(idp.getElementsByTagNameNS(MD, 'KeyDescriptor'))) {
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const c of Array.from(kd.getElementsByTagNameNS(DS, 'X509Certificate'))) {
      const body = bareBase64(c.textContent ?? '');
      if (!isCertificate(body)) throw bad('a signing certificate is not an X.509 certificate');
      if (!certificates.includes(body)) certificates.push(body);
    }
  }
  if (certificates.length === 0) throw bad('no signing certificate');
  // Lasso (LemonLDAP::NG), Shibboleth and others say here that they refuse unsigned requests.
  const wantsSigned = idp.getAttribute('WantAuthnRequestsSigned') === 'true' || idp.getAttribute('WantAuthnRequestsSigned') === '1';
  return { entity_id: entityId, sso_url: ssoUrl, certificates, valid_until: validUntil ? new Date(validUntil).toISOString() : null, ...(wantsSigned ? { want_authn_requests_signed: true } : {}) };
}

/** The earliest validUntil on the entity or any EntitiesDescriptor around it. */
function validUntilOf(entity: Element): string | null {
  let earliest: string | null = null;
  for (let n: Node | null = entity; n && n.nodeType === 1; n = n.parentNode) {
    const v = (n as Element).getAttribute('validUntil');
    if (v && (earliest === null || Date.parse(v) < Date.parse(earliest) || Number.isNaN(Date.parse(v)))) earliest = v;
  }
  return earliest;
}

/** Pasted metadata: a problem is a 400 naming the field. */
export function parseIdpMetadata(xml: string): SamlIdp {
  try {
    const { valid_until: _v, ...idp } = readIdpMetadata(xml);
    return idp;
  } catch (err) {
    if (err instanceof MetadataProblem) throw invalidBody(`Invalid request body: idp.metadata_xml: ${err.message}.`);
    throw err;
  }
}

/** Fetched metadata that cannot be used: 400 `invalid_metadata`, saying where it came from. */
export const unusableMetadata = (url: string, why: string): AppError => new AppError('invalid_metadata', 400, `The metadata at ${url} cannot be used: ${why}.`);

export function toSamlIdp(input: Exclude<SamlIdpInput, { metadata_url: string }>): SamlIdp {
  if ('metadata_xml' in input) return parseIdpMetadata(input.metadata_xml);
  return {
    entity_id: input.entity_id,
    sso_url: input.sso_url,
    certificates: input.certificates.map((c, i) => normaliseCertificate(c, `idp.certificates.${i}`)),
  };
}
