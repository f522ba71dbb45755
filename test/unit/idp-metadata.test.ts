import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MetadataProblem, readIdpMetadata } from '../../src/modules/connections/saml-idp.js';

const cert = readFileSync(new URL('../../fixtures/saml/keys/idp-test-only.crt', import.meta.url), 'utf8').replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
const other = readFileSync(new URL('../../fixtures/saml/keys/other-test-only.crt', import.meta.url), 'utf8').replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
const kd = (c: string, use?: string) => `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
const idp = (id: string, keys: string, attrs = '') =>
  `<md:EntityDescriptor entityID="${id}"${attrs}><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keys}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://${id}/post"/><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://${id}/redirect"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
const sp = (id: string) => `<md:EntityDescriptor entityID="${id}"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`;
const aggregate = (inner: string, attrs = '') => `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"${attrs}>${inner}</md:EntitiesDescriptor>`;
const problem = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof MetadataProblem) return err.message;
    throw err;
  }
  throw new Error('no problem reported');
};

describe('reading IdP metadata', () => {
  it('takes the Redirect SSO URL and every signing certificate, not encryption ones', () => {
    const m = readIdpMetadata(aggregate(idp('idp.one', kd(cert, 'signing') + kd(other) + kd(other, 'encryption'))));
    expect(m).toEqual({ entity_id: 'idp.one', sso_url: 'https://idp.one/redirect', certificates: [cert, other], valid_until: null });
  });

  it('in an aggregate, reads the IdP (not an SP listed first), or exactly the expected entity', () => {
    const xml = aggregate(sp('sp.first') + idp('idp.one', kd(cert)) + idp('idp.two', kd(other)));
    expect(readIdpMetadata(xml).entity_id).toBe('idp.one');
    expect(readIdpMetadata(xml, { entityId: 'idp.two' }).certificates).toEqual([other]);
    expect(problem(() => readIdpMetadata(xml, { entityId: 'idp.three' }))).toBe('its entity id is idp.one, not idp.three');
  });

  it('refuses metadata whose validUntil, on the entity or the aggregate around it, has passed', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const inner = aggregate(idp('idp.one', kd(cert), ' validUntil="2026-05-31T00:00:00Z"'), ' validUntil="2027-01-01T00:00:00Z"');
    expect(problem(() => readIdpMetadata(inner, { now }))).toMatch(/expired at 2026-05-31T00:00:00.000Z/);
    const outer = aggregate(idp('idp.one', kd(cert), ' validUntil="2027-01-01T00:00:00Z"'), ' validUntil="2026-05-01T00:00:00Z"');
    expect(problem(() => readIdpMetadata(outer, { now }))).toMatch(/expired at 2026-05-01/);
    const fresh = aggregate(idp('idp.one', kd(cert), ' validUntil="2026-07-01T00:00:00Z"'));
    expect(readIdpMetadata(fresh, { now }).valid_until).toBe('2026-07-01T00:00:00.000Z');
    expect(problem(() => readIdpMetadata(aggregate(idp('idp.one', kd(cert), ' validUntil="soon"')), { now }))).toMatch(/not a date/);
  });

  it('refuses a certificate that is not one', () => {
    expect(problem(() => readIdpMetadata(aggregate(idp('idp.one', kd('bm90IGEgY2VydA==')))))).toMatch(/not an X\.509 certificate/);
  });
});
