import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/passport-saml';
import type { Db } from '../../../platform/db.js';
import type { Clock } from '../../../platform/clock.js';
import { isUniqueViolation } from '../../../platform/db-errors.js';
import { pemCertificate } from '../../../platform/x509.js';
import { samlSp } from '../../connections/sp-urls.js';
import type { Connection, SamlIdp } from '../../connections/schema.js';
import { ssoFailure } from '../errors.js';
import { toLoginProfile, type LoginProfile } from '../login-profile.js';
import { StatelessRequestCache, REQUEST_TTL_MS, consumeRequestId } from './request-cache.js';
import type { RequestIds } from './request-ids.js';
import { assertionIdsOf, checkSignatureAlgorithms, checkVerifiedResponse } from './response-checks.js';
import { attributesWithoutValues } from './assertion-attributes.js';
import { bindTransientSubject } from './transient-subject.js';
import type { SpKeyService } from '../../connections/sp-key-service.js';
import { signingKeyOf, type SpKeySet } from '../../connections/sp-keys.js';
import { spMetadataXml } from './sp-metadata.js';
import { keyForEncryptedAssertion } from './decryption-key.js';
import { topLevelAssertions } from './response-checks.js';

export const CLOCK_SKEW_MS = 60_000;
type SamlConnection = Connection & { type: 'saml'; idp: SamlIdp };

/** A response that passed every check: who signed in, and the AuthnRequest it answers (none when IdP-initiated). */
export interface ValidatedResponse {
  profile: LoginProfile;
  requestId: string | null;
}

/**
 * node-saml per connection (its options depend on the connection), plus the checks it leaves to
 * us and the assertion replay cache. Turns a posted SAMLResponse into a plain LoginProfile.
 */
export class SamlService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly requestIds: RequestIds,
    private readonly publicUrl: () => string,
    private readonly spKeys: SpKeyService,
  ) {}

  /** Whether AuthnRequests are signed: the connection's choice, else what the IdP metadata asked for. */
  static signsRequests(c: SamlConnection): boolean {
    return c.sign_authn_requests ?? c.idp.want_authn_requests_signed ?? false;
  }

  private saml(c: SamlConnection, keys: { signing?: string; decryption?: string } = {}, onIssue?: (id: string) => void): SAML {
    const sp = samlSp(this.publicUrl(), c.id);
    return new SAML({
      // HTTP-Redirect binding signature (SAML bindings §3.4.4.1): SigAlg and Signature query
      // parameters over SAMLRequest and SigAlg, RSA-SHA256 (signatureAlgorithm below).
      ...(keys.signing ? { privateKey: keys.signing } : {}),
      ...(keys.decryption ? { decryptionPvk: keys.decryption } : {}),
      callbackUrl: sp.acs_url,
      entryPoint: c.idp.sso_url,
      issuer: sp.entity_id,
      audience: sp.entity_id,
      idpCert: c.idp.certificates.map(pemCertificate),
      // A signed response or a signed assertion: node-saml then requires the assertion's own
      // signature whenever the response is unsigned.
      wantAuthnResponseSigned: false,
      wantAssertionsSigned: false,
      acceptedClockSkewMs: CLOCK_SKEW_MS,
      validateInResponseTo: c.allow_idp_initiated ? ValidateInResponseTo.ifPresent : ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: REQUEST_TTL_MS,
      cacheProvider: new StatelessRequestCache(this.requestIds, this.clock, c.id),
      identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
      // Entra and Okta reject requests that pin a password context when users sign in with MFA.
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256',
      generateUniqueId: () => {
        const id = this.requestIds.issue(c.id, this.clock.now().getTime());
        onIssue?.(id);
        return id;
      },
    });
  }

  async metadata(c: SamlConnection): Promise<string> {
    const keys = await this.spKeys.keysFor(c);
    const sp = samlSp(this.publicUrl(), c.id);
    const nameIdFormat = this.saml(c).options.identifierFormat ?? null;
    return spMetadataXml({ entityId: sp.entity_id, acsUrl: sp.acs_url, nameIdFormat, authnRequestsSigned: SamlService.signsRequests(c) }, keys);
  }

  /**
   * The IdP URL with a deflated AuthnRequest (HTTP-Redirect), and the request's self-contained id.
   * No RelayState: where the browser goes afterwards is kept on our side, bound to the request.
   */
  async loginUrl(c: SamlConnection): Promise<{ url: string; requestId: string }> {
    let requestId: string | undefined;
    const signing = SamlService.signsRequests(c) ? signingKeyOf(await this.spKeys.keysFor(c))?.privateKeyPem() : undefined;
    const url = await this.saml(c, { signing }, (id) => (requestId = id)).getAuthorizeUrlAsync('', undefined, {});
    if (!requestId) throw new Error('node-saml built an AuthnRequest without asking for an id');
    return { url, requestId };
  }

  async validate(c: SamlConnection, samlResponse: string): Promise<ValidatedResponse> {
    let responseXml: string;
    try {
      responseXml = Buffer.from(samlResponse, 'base64').toString('utf8');
    } catch {
      throw ssoFailure('invalid_response', { why: 'not base64' });
    }
    // Answer a replay as such, before node-saml reports it as an unknown InResponseTo.
    const ids = assertionIdsOf(responseXml);
    if (ids.length && (await this.db('saml_replay_cache').where({ connection_id: c.id }).whereIn('assertion_id', ids).where('expires_at', '>', this.clock.now().toISOString()).first())) {
      throw ssoFailure('replay');
    }
    const decryption = await this.decryptionKey(c, responseXml);
    let profile: Profile | null;
    try {
      profile = (await this.saml(c, { decryption }).validatePostResponseAsync({ SAMLResponse: samlResponse })).profile;
    } catch (err) {
      throw ssoFailure('invalid_response', { why: (err as Error).message });
    }
    if (!profile?.getAssertionXml || !profile.getSamlResponseXml) throw ssoFailure('invalid_response', { why: 'no assertion' });
    const now = this.clock.now();
    const sp = samlSp(this.publicUrl(), c.id);
    checkSignatureAlgorithms([profile.getSamlResponseXml(), profile.getAssertionXml()], c.allow_sha1_signatures);
    const facts = checkVerifiedResponse(profile.getSamlResponseXml(), profile.getAssertionXml(), { acsUrl: sp.acs_url, idpEntityId: c.idp.entity_id, skewMs: CLOCK_SKEW_MS, now });
    await this.remember(c.id, facts.assertionId, facts.expiresAt, now);
    // node-saml checked InResponseTo against our ids (always, unless the connection allows
    // IdP-initiated responses and there is none); that id now answers this response only.
    const requestId = typeof profile.inResponseTo === 'string' && profile.inResponseTo ? profile.inResponseTo : null;
    if (requestId) {
      const issued = this.requestIds.verify(c.id, requestId, now.getTime());
      if (!issued) throw ssoFailure('invalid_response', { why: 'InResponseTo is not a request id of this connection' });
      await consumeRequestId(this.db, c.id, requestId, issued.issuedAtMs, now);
    }
    const attributes = { ...Object.fromEntries(attributesWithoutValues(profile.getAssertionXml()).map((n) => [n, []])), ...(profile.attributes ?? {}) } as Record<string, unknown>;
    const login = toLoginProfile('saml', profile.nameID, attributes, c.attribute_mapping);
    return { profile: bindTransientSubject(c, profile.nameID, profile.nameIDFormat, login), requestId };
  }

  /**
   * The private key node-saml decrypts the assertion with: of the connection's encryption keys
   * (current, or previous during a rotation), the one it was encrypted to. A plain assertion gets
   * none, and is refused when the connection requires encryption.
   */
  private async decryptionKey(c: SamlConnection, responseXml: string): Promise<string | undefined> {
    const { plain, encrypted } = topLevelAssertions(responseXml);
    if (encrypted.length === 0) {
      if (plain > 0 && c.require_encrypted_assertions) throw ssoFailure('encryption_required', { why: 'plain Assertion; the connection requires EncryptedAssertion' });
      return undefined;
    }
    // More than one is refused by node-saml; the first is the only one that could count.
    const keys: SpKeySet = await this.spKeys.keysFor(c);
    const key = keyForEncryptedAssertion(encrypted[0]!, keys.encryption);
    if (!key) {
      throw ssoFailure('invalid_response', {
        why: 'EncryptedAssertion not encrypted to any encryption key of this connection',
        message: "The sign-in response is encrypted to a key this connection does not have: the identity provider must encrypt to the certificate in this connection's SP metadata.",
      });
    }
    return key.privateKeyPem();
  }

  /** The replay cache: an assertion id is accepted once, and remembered until it expires. */
  private async remember(connectionId: string, assertionId: string, expiresAt: Date, now: Date): Promise<void> {
    await this.db('saml_replay_cache').where('expires_at', '<=', now.toISOString()).delete();
    try {
      await this.db('saml_replay_cache').insert({ connection_id: connectionId, assertion_id: assertionId, expires_at: expiresAt.toISOString() });
    } catch (err) {
      if (isUniqueViolation(err)) throw ssoFailure('replay');
      throw err;
    }
  }
}
