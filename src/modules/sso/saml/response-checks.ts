import { DOMParser } from '@xmldom/xmldom';
import { ssoFailure } from '../errors.js';

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
/** The longest an assertion may stay usable (real IdPs: minutes, Entra about an hour). */
const MAX_VALIDITY_MS = 24 * 60 * 60 * 1000;
const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';

/** What xml-crypto verifies, minus SHA-1 and HMAC (a shared-secret MAC proves nothing about the IdP). */
const STRONG_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  'http://www.w3.org/2001/04/xmlenc#sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512',
]);
/** Accepted only from a connection that opts in with `allow_sha1_signatures` (legacy IdPs). */
const SHA1_ALGORITHMS = new Set(['http://www.w3.org/2000/09/xmldsig#rsa-sha1', 'http://www.w3.org/2000/09/xmldsig#sha1']);

function parse(xml: string): Document {
  // Responses never need a DOCTYPE; entity declarations are only ever an attack.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw ssoFailure('invalid_response', { why: 'DOCTYPE in response' });
  const errors: string[] = [];
  const doc = new DOMParser({ errorHandler: { warning: () => {}, error: (m: string) => errors.push(m), fatalError: (m: string) => errors.push(m) } }).parseFromString(xml, 'text/xml');
  if (errors.length || !doc?.documentElement) throw ssoFailure('invalid_response', { why: 'malformed XML' });
  return doc;
}

const children = (el: Element, ns: string, name: string): Element[] =>
  Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).localName === name && (n as Element).namespaceURI === ns);

/** Assertion ids in a not-yet-verified response: only used to answer `replay` early. */
export function assertionIdsOf(responseXml: string): string[] {
  const doc = parse(responseXml);
  return Array.from(doc.getElementsByTagNameNS(SAML, 'Assertion'))
    .map((a) => a.getAttribute('ID'))
    .filter((id): id is string => !!id);
}

/** The Response's own Assertion children (counted) and EncryptedAssertion children (as XML), before any verification. */
export function topLevelAssertions(responseXml: string): { plain: number; encrypted: string[] } {
  const root = parse(responseXml).documentElement!;
  return {
    plain: children(root, SAML, 'Assertion').length,
    encrypted: children(root, SAML, 'EncryptedAssertion').map((e) => e.toString()),
  };
}

/**
 * Signature and digest algorithms of every XML signature in the response and in the assertion
 * node-saml verified. node-saml relies on the response's signature, or else the assertion's, and
 * xml-crypto accepts RSA-SHA1 and SHA-1 digests: checking all of them (not only the one relied on)
 * leaves no SHA-1 signature for a collision to hide behind.
 */
export function checkSignatureAlgorithms(docs: readonly string[], allowSha1: boolean): void {
  for (const xml of docs) {
    for (const signature of Array.from(parse(xml).getElementsByTagNameNS(DSIG, 'Signature'))) {
      const signedInfo = children(signature, DSIG, 'SignedInfo')[0];
      const methods = signedInfo ? children(signedInfo, DSIG, 'SignatureMethod') : [];
      const digests = signedInfo ? children(signedInfo, DSIG, 'Reference').flatMap((r) => children(r, DSIG, 'DigestMethod')) : [];
      if (methods.length !== 1 || digests.length === 0) throw ssoFailure('invalid_response', { why: 'signature without one SignatureMethod and a DigestMethod' });
      for (const algorithm of [...methods, ...digests].map((m) => m.getAttribute('Algorithm') ?? '')) {
        if (STRONG_ALGORITHMS.has(algorithm)) continue;
        if (SHA1_ALGORITHMS.has(algorithm)) {
          if (allowSha1) continue;
          throw ssoFailure('invalid_response', { why: `signed with SHA-1 (${algorithm}); this connection does not allow SHA-1 signatures (allow_sha1_signatures)` });
        }
        throw ssoFailure('invalid_response', { why: `signature algorithm not accepted: ${algorithm || '(none)'}` });
      }
    }
  }
}

export interface VerifiedFacts {
  assertionId: string;
  /** When the assertion stops being usable: the replay cache keeps its id until then. */
  expiresAt: Date;
}

/**
 * The checks node-saml leaves to us (SPEC §6), on the response and on the assertion node-saml
 * verified: Destination and every bearer Recipient equal our ACS URL, the assertion Issuer equals
 * the IdP entity id.
 */
export function checkVerifiedResponse(responseXml: string, assertionXml: string, expected: { acsUrl: string; idpEntityId: string; skewMs: number; now: Date }): VerifiedFacts {
  const fail = (why: string) => ssoFailure('invalid_response', { why });
  const response = parse(responseXml).documentElement!;
  if (response.localName !== 'Response' || response.namespaceURI !== SAMLP) throw fail('not a SAML Response');
  if (response.getAttribute('Destination') !== expected.acsUrl) throw fail('Destination is not this ACS URL');

  const assertion = parse(assertionXml).documentElement!;
  const issuer = children(assertion, SAML, 'Issuer')[0]?.textContent?.trim();
  if (issuer !== expected.idpEntityId) throw fail('assertion Issuer is not the IdP entity id');
  const assertionId = assertion.getAttribute('ID');
  if (!assertionId) throw fail('assertion without ID');

  const expiries: number[] = [];
  const subject = children(assertion, SAML, 'Subject')[0];
  const confirmations = subject ? children(subject, SAML, 'SubjectConfirmation') : [];
  const data = confirmations.flatMap((c) => children(c, SAML, 'SubjectConfirmationData'));
  if (data.length === 0) throw fail('no SubjectConfirmationData');
  for (const d of data) {
    if (d.getAttribute('Recipient') !== expected.acsUrl) throw fail('Recipient is not this ACS URL');
    // The Web SSO profile requires it on bearer confirmations; without it an assertion would be
    // usable for ever, and its id would have to stay in the replay cache for ever.
    const until = Date.parse(d.getAttribute('NotOnOrAfter') ?? '');
    if (!Number.isFinite(until)) throw fail('SubjectConfirmationData without NotOnOrAfter');
    expiries.push(until);
  }
  const conditions = children(assertion, SAML, 'Conditions')[0];
  const condUntil = Date.parse(conditions?.getAttribute('NotOnOrAfter') ?? '');
  if (Number.isFinite(condUntil)) expiries.push(condUntil);
  // node-saml accepts the assertion until the earliest of these; the IdP chooses them, so a long
  // window would keep one replay-cache row per sign-in for as long as it likes.
  if (Math.min(...expiries) > expected.now.getTime() + MAX_VALIDITY_MS) throw fail('assertion valid for more than 24 hours');
  const latest = Math.min(Math.max(...expiries), expected.now.getTime() + MAX_VALIDITY_MS);
  return { assertionId, expiresAt: new Date(latest + expected.skewMs) };
}
