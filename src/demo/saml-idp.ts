import type { Samlify } from './peers.js';
import { escapeXml, fillResponseTemplate, type ResponseVars, type SamlUser } from './saml-response.js';

export interface SamlIdpSettings {
  entityId: string;
  ssoUrl: string;
  /** Advertised in the metadata when set (samlify warns without one). */
  sloUrl?: string;
  key: string;
  cert: string;
  /** A Response template with `{{…}}` placeholders (see saml-response.ts). */
  template: string;
  /** XML signature algorithm of the responses (samlify's default, RSA-SHA256, when unset). */
  signatureAlgorithm?: string;
  /** Publish WantAuthnRequestsSigned and refuse AuthnRequests without a valid HTTP-Redirect signature. */
  wantAuthnRequestsSigned?: boolean;
  /** Encrypt the assertion to the SP metadata's encryption certificate (then sign the response). */
  encryptAssertions?: boolean;
}

/** A parsed HTTP-Redirect AuthnRequest: where to answer and what to answer to. */
export interface PendingRequest {
  acsUrl: string;
  spEntityId: string;
  requestId: string;
  relayState: string;
}

/**
 * An independent SAML IdP core on samlify: parses the SP's AuthnRequest and signs the login
 * response. The HTTP around it (who is signed in at the IdP) belongs to the demo or test server.
 * Used by the demo IdP (FOR DEMONSTRATION ONLY) and by the test IdP.
 */
export class SamlIdpCore {
  constructor(private readonly samlify: Samlify, readonly settings: SamlIdpSettings) {
    // Our SP validates what it receives; this IdP only reads requests it was sent by it.
    samlify.setSchemaValidator({ validate: async () => 'ok' });
  }

  private idp() {
    const s = this.settings;
    const redirect = this.samlify.Constants.namespace.binding.redirect;
    return this.samlify.IdentityProvider({
      entityID: s.entityId,
      privateKey: s.key,
      signingCert: s.cert,
      singleSignOnService: [{ Binding: redirect, Location: s.ssoUrl }],
      ...(s.sloUrl ? { singleLogoutService: [{ Binding: redirect, Location: s.sloUrl }] } : {}),
      loginResponseTemplate: { context: s.template, attributes: [] },
      ...(s.signatureAlgorithm ? { requestSignatureAlgorithm: s.signatureAlgorithm } : {}),
      ...(s.wantAuthnRequestsSigned ? { wantAuthnRequestsSigned: true } : {}),
      ...(s.encryptAssertions
        ? { isAssertionEncrypted: true, dataEncryptionAlgorithm: 'http://www.w3.org/2009/xmlenc11#aes256-gcm', keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p' }
        : {}),
    });
  }

  metadataXml(): string {
    return this.idp().getMetadata();
  }

  /**
   * `rawQuery`: the query string as received, from which a signed request's octet string is cut
   * (SAML bindings §3.4.4.1: the parameters exactly as URL-encoded by the sender).
   */
  async parseRequest(spMetadata: string, query: Record<string, string>, rawQuery = ''): Promise<PendingRequest & { parsed: unknown }> {
    const sp = this.samlify.ServiceProvider({ metadata: spMetadata });
    const raw = new Map(rawQuery.replace(/^\?/, '').split('&').map((p) => [p.slice(0, p.indexOf('=')), p] as const));
    const octetString = ['SAMLRequest', 'RelayState', 'SigAlg'].flatMap((k) => (raw.has(k) ? [raw.get(k)!] : [])).join('&');
    const parsed = await this.idp().parseLoginRequest(sp, 'redirect', { query, octetString });
    const request = parsed.extract.request as { assertionConsumerServiceUrl?: string; issuer?: string; id?: string } | undefined;
    return {
      acsUrl: String(request?.assertionConsumerServiceUrl ?? sp.entityMeta.getAssertionConsumerService('post')),
      spEntityId: String(request?.issuer ?? sp.entityMeta.getEntityID()),
      requestId: String(request?.id),
      relayState: query.RelayState ?? '',
      parsed,
    };
  }

  /** A base64 SAMLResponse for `user`, signed by samlify, answering `pending`. */
  async respond(spMetadata: string, pending: PendingRequest & { parsed: unknown }, user: SamlUser, overrides?: ResponseVars['overrides']): Promise<string> {
    const sp = this.samlify.ServiceProvider({ metadata: spMetadata });
    const idp = this.idp();
    const created = await idp.createLoginResponse(sp, pending.parsed as Parameters<typeof idp.createLoginResponse>[1], 'post', { email: user.email }, (template: string) => {
      const { id, xml } = fillResponseTemplate(template, this.settings.entityId, { ...pending, user, overrides });
      return { id, context: xml };
      // Encrypting changes the assertion, so the response is signed after it (else the signature breaks).
    }, !!this.settings.encryptAssertions);
    return (created as { context: string }).context;
  }
}

/** The IdP's auto-submitting page that carries the response to the SP's ACS (HTTP-POST binding). */
export function autoPostPage(acsUrl: string, samlResponse: string, relayState: string): string {
  return (
    '<!doctype html><html><head><meta charset="utf-8"><title>Signing in…</title></head>' +
    `<body onload="document.forms[0].submit()"><form method="post" action="${escapeXml(acsUrl)}">` +
    `<input type="hidden" name="SAMLResponse" value="${samlResponse}"><input type="hidden" name="RelayState" value="${escapeXml(relayState)}">` +
    '<noscript><button type="submit">Continue</button></noscript></form></body></html>'
  );
}
