import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/passport-saml';
import type { Db } from '../../../platform/db.js';
import type { Clock } from '../../../platform/clock.js';
import { isUniqueViolation } from '../../../platform/db-errors.js';
import { toPem } from '../../connections/saml-idp.js';
import { samlSp } from '../../connections/sp-urls.js';
import type { Connection, SamlIdp } from '../../connections/schema.js';
import { ssoFailure } from '../errors.js';
import { toLoginProfile, type LoginProfile } from '../login-profile.js';
import { StatelessRequestCache, REQUEST_TTL_MS, consumeRequestId } from './request-cache.js';
import type { RequestIds } from './request-ids.js';
import { assertionIdsOf, checkSignatureAlgorithms, checkVerifiedResponse } from './response-checks.js';
import { attributesWithoutValues } from './assertion-attributes.js';
import { bindTransientSubject } from './transient-subject.js';

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
  ) {}

  private saml(c: SamlConnection, onIssue?: (id: string) => void): SAML {
    const sp = samlSp(this.publicUrl(), c.id);
    return new SAML({
      callbackUrl: sp.acs_url,
      entryPoint: c.idp.sso_url,
      issuer: sp.entity_id,
      audience: sp.entity_id,
      idpCert: c.idp.certificates.map(toPem),
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

  metadata(c: SamlConnection): string {
    return this.saml(c).generateServiceProviderMetadata(null, null);
  }

  /**
   * The IdP URL with a deflated AuthnRequest (HTTP-Redirect), and the request's self-contained id.
   * No RelayState: where the browser goes afterwards is kept on our side, bound to the request.
   */
  async loginUrl(c: SamlConnection): Promise<{ url: string; requestId: string }> {
    let requestId: string | undefined;
    const url = await this.saml(c, (id) => (requestId = id)).getAuthorizeUrlAsync('', undefined, {});
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
    let profile: Profile | null;
    try {
      profile = (await this.saml(c).validatePostResponseAsync({ SAMLResponse: samlResponse })).profile;
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
