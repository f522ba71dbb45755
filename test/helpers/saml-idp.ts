import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as samlify from 'samlify';
import { SignedXml } from 'xml-crypto';
import { SamlIdpCore, autoPostPage } from '../../src/demo/saml-idp.js';
import { fillResponseTemplate, type ResponseVars, type SamlUser } from '../../src/demo/saml-response.js';

/**
 * An independent SAML IdP for tests, on loopback: the same samlify core as the demo IdP
 * (src/demo/saml-idp.ts) parses our AuthnRequest and signs the response with the test-only key
 * under fixtures/saml/keys; the browser leg (redirect to the IdP,
 * auto-posted form back to our ACS) goes over real HTTP. Negative scenarios are built from the
 * fixtures under fixtures/saml/responses and signed (or not) as each fixture says.
 */
const fixtures = new URL('../../fixtures/saml/', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, fixtures), 'utf8');
export const keys = {
  'idp-test-only': { key: read('keys/idp-test-only.key'), cert: read('keys/idp-test-only.crt') },
  'other-test-only': { key: read('keys/other-test-only.key'), cert: read('keys/other-test-only.crt') },
};
type KeyName = keyof typeof keys;

samlify.setSchemaValidator({ validate: async () => 'ok' });

export type IdpUser = SamlUser;
export type { ResponseVars };

export class SamlTestIdp {
  readonly entityId = 'https://idp.orgsync-tests.example/metadata';
  private server?: Server;
  url = '';
  /** Who is signed in at the IdP: the next AuthnRequest is answered for this user. */
  user: IdpUser = { nameId: 'alice@acme.com', email: 'alice@acme.com', groups: [] };
  /** The signature algorithm of its responses, as a legacy IdP set to RSA-SHA1 would use (samlify then digests with SHA-1 too). */
  signatureAlgorithm?: string;
  /** Refuse AuthnRequests without a valid signature by the SP metadata's signing certificate (and say so in the IdP metadata). */
  wantAuthnRequestsSigned = false;
  /** Encrypt assertions to the SP metadata's encryption certificate. */
  encryptAssertions = false;
  /** The response shape the IdP answers with (a template under fixtures/saml/, by scenario). */
  responseTemplate = 'responses/response.template.xml';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req.url ?? '/').then(
        (html) => res.writeHead(200, { 'content-type': 'text/html' }).end(html),
        (err: Error) => res.writeHead(400, { 'content-type': 'text/plain' }).end(err.message),
      );
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  get ssoUrl(): string {
    return `${this.url}/sso`;
  }

  /** Published like a real IdP's (samlify warns about metadata without one); never called. */
  get sloUrl(): string {
    return `${this.url}/slo`;
  }

  metadataXml(): string {
    return samlify
      .IdentityProvider({
        entityID: this.entityId,
        signingCert: keys['idp-test-only'].cert,
        singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: this.ssoUrl }],
        singleLogoutService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: this.sloUrl }],
        ...(this.wantAuthnRequestsSigned ? { wantAuthnRequestsSigned: true } : {}),
      })
      .getMetadata();
  }

  /** The SP metadata the IdP admin imported; set by the test from our /metadata endpoint. */
  spMetadata = '';
  /** The base64 SAMLResponse of the last sign-in this IdP answered. */
  lastResponse = '';

  /** HTTP-Redirect AuthnRequest in, auto-posting form with a signed response out. */
  private async handle(path: string): Promise<string> {
    const url = new URL(path, this.url);
    const core = new SamlIdpCore(samlify, {
      entityId: this.entityId,
      ssoUrl: this.ssoUrl,
      sloUrl: this.sloUrl,
      key: keys['idp-test-only'].key,
      cert: keys['idp-test-only'].cert,
      template: read(this.responseTemplate),
      signatureAlgorithm: this.signatureAlgorithm,
      wantAuthnRequestsSigned: this.wantAuthnRequestsSigned,
      encryptAssertions: this.encryptAssertions,
    });
    const pending = await core.parseRequest(this.spMetadata, Object.fromEntries(url.searchParams), url.search);
    this.lastResponse = await core.respond(this.spMetadata, pending, this.user);
    return autoPostPage(pending.acsUrl, this.lastResponse, pending.relayState);
  }

  /** Fills a response template: fresh ids and times, our ACS URL and entity id, the user. */
  fill(template: string, v: ResponseVars): { id: string; assertionId: string; xml: string } {
    return fillResponseTemplate(template, this.entityId, v);
  }

  /**
   * What an attacker holding one genuine sign-in has to work with: a response for `v.user` signed at
   * the response, and its assertion signed on its own, plus the pieces cut out of them. Wrapping
   * fixtures (`responses/*.xml`) name these pieces as placeholders:
   * - `ORIGINAL_RESPONSE`: the signed response without its Signature element;
   *   `RESPONSE_SIGNATURE` that Signature, `RESPONSE_SIGNATURE_CONTENT` its children (SignedInfo,
   *   SignatureValue, KeyInfo), to rebuild it around something else;
   * - `ORIGINAL_ASSERTION`, `SIGNED_ASSERTION`, `ASSERTION_SIGNATURE`, `ASSERTION_SIGNATURE_CONTENT`
   *   the same for the assertion, and `ORIGINAL_ASSERTION_ID` its ID.
   */
  signedParts(v: Omit<ResponseVars, 'overrides'>): { assertionId: string; signedResponse: string; parts: Record<string, string> } {
    const legit = this.fill(read('responses/response.template.xml'), v);
    const signedResponse = sign(legit.xml, 'response', 'idp-test-only');
    const originalAssertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(legit.xml)![0];
    const signedAssertion = sign(originalAssertion, 'assertion', 'idp-test-only');
    const signatureOf = (xml: string) => {
      const m = /<Signature xmlns="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#">([\s\S]*?)<\/Signature>/.exec(xml);
      if (!m) throw new Error('no Signature element in the signed XML');
      return { whole: m[0], content: m[1]! };
    };
    const rs = signatureOf(signedResponse);
    const as = signatureOf(signedAssertion);
    return {
      assertionId: legit.assertionId,
      signedResponse,
      parts: {
        // As the signer serialized them (it writes empty elements as `<x/>`), minus the signature.
        ORIGINAL_RESPONSE: signedResponse.replace(rs.whole, ''),
        RESPONSE_SIGNATURE: rs.whole,
        RESPONSE_SIGNATURE_CONTENT: rs.content,
        ORIGINAL_ASSERTION: signedAssertion.replace(as.whole, ''),
        SIGNED_ASSERTION: signedAssertion,
        ASSERTION_SIGNATURE: as.whole,
        ASSERTION_SIGNATURE_CONTENT: as.content,
        ORIGINAL_ASSERTION_ID: legit.assertionId,
      },
    };
  }

  /**
   * A base64 SAMLResponse for a scenario fixture: `responses/<name>.json` (the response template
   * with overrides, signed as it says, optionally tampered with after signing), or a raw
   * `responses/<name>.xml` (filled, then given the genuinely signed pieces it names).
   */
  scenario(name: string, v: Omit<ResponseVars, 'overrides'>): { samlResponse: string; assertionId: string } {
    if (existsSync(new URL(`responses/${name}.xml`, fixtures))) {
      // A leading comment documents the fixture; it is not part of what is sent.
      const template = read(`responses/${name}.xml`).replace(/^<!--[\s\S]*?-->\s*/, '');
      const filled = this.fill(template, v);
      const signed = /\{\{(ORIGINAL|SIGNED|RESPONSE_SIGNATURE|ASSERTION_SIGNATURE)/.test(filled.xml) ? this.signedParts(v) : null;
      const xml = signed ? filled.xml.replace(/\{\{([A-Z_]+)\}\}/g, (m, k: string) => signed.parts[k] ?? m) : filled.xml;
      if (/\{\{[A-Z_]+\}\}/.test(xml)) throw new Error(`unfilled placeholder in responses/${name}.xml`);
      return { samlResponse: Buffer.from(xml).toString('base64'), assertionId: signed?.assertionId ?? filled.assertionId };
    }
    const spec = JSON.parse(read(`responses/${name}.json`)) as {
      sign: 'response' | 'assertion' | 'none';
      key: KeyName;
      vars: Record<string, string>;
      after_signing?: { strip_signatures?: boolean; replace?: string; with?: string };
    };
    const { xml, assertionId } = this.fill(read('responses/response.template.xml'), { ...v, overrides: spec.vars });
    let signed = spec.sign === 'none' ? xml : sign(xml, spec.sign, spec.key);
    const after = spec.after_signing;
    if (after?.strip_signatures) signed = signed.replace(/<Signature xmlns="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#">[\s\S]*?<\/Signature>/g, '');
    if (after?.replace !== undefined) {
      if (!signed.includes(after.replace)) throw new Error(`responses/${name}.json: "${after.replace}" not found after signing`);
      signed = signed.split(after.replace).join(after.with ?? '');
    }
    return { samlResponse: Buffer.from(signed).toString('base64'), assertionId };
  }
}

/**
 * Enveloped signature over the Response or the Assertion, placed after its Issuer: RSA-SHA256 with a
 * SHA-256 digest unless `algorithms` says otherwise (legacy IdPs sign with SHA-1).
 */
export function sign(xml: string, what: 'response' | 'assertion', key: KeyName, algorithms: { signature?: string; digest?: string } = {}): string {
  const path = what === 'response' ? "/*[local-name(.)='Response']" : "//*[local-name(.)='Assertion']";
  const sig = new SignedXml({
    privateKey: keys[key].key,
    publicCert: keys[key].cert,
    signatureAlgorithm: algorithms.signature ?? 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  sig.addReference({
    xpath: path,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: algorithms.digest ?? 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  sig.computeSignature(xml, { location: { reference: `${path}/*[local-name(.)='Issuer']`, action: 'after' }, existingPrefixes: {} });
  return sig.getSignedXml();
}
