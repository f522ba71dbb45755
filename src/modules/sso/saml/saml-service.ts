import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/passport-saml';
import type { Db } from '../../../platform/db.js';
import type { Clock } from '../../../platform/clock.js';
import type { IdGenerator } from '../../../platform/ids.js';
import { isUniqueViolation } from '../../../platform/db-errors.js';
import { toPem } from '../../connections/saml-idp.js';
import { samlSp } from '../../connections/sp-urls.js';
import type { Connection, SamlIdp } from '../../connections/schema.js';
import { ssoFailure } from '../errors.js';
import { toLoginProfile, type LoginProfile } from '../login-profile.js';
import { DbRequestCache, REQUEST_TTL_MS } from './request-cache.js';
import { assertionIdsOf, checkSignatureAlgorithms, checkVerifiedResponse } from './response-checks.js';
import { attributesWithoutValues } from './assertion-attributes.js';

export const CLOCK_SKEW_MS = 60_000;
type SamlConnection = Connection & { type: 'saml'; idp: SamlIdp };

/**
 * node-saml per connection (its options depend on the connection), plus the checks it leaves to
 * us and the assertion replay cache. Turns a posted SAMLResponse into a plain LoginProfile.
 */
export class SamlService {
  constructor(private readonly db: Db, private readonly clock: Clock, private readonly ids: IdGenerator, private readonly publicUrl: () => string) {}

  private saml(c: SamlConnection): SAML {
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
      cacheProvider: new DbRequestCache(this.db, this.clock, c.id),
      identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
      // Entra and Okta reject requests that pin a password context when users sign in with MFA.
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256',
      generateUniqueId: () => `_${this.ids.uuid().replace(/-/g, '')}`,
    });
  }

  metadata(c: SamlConnection): string {
    return this.saml(c).generateServiceProviderMetadata(null, null);
  }

  /** The IdP URL with a deflated AuthnRequest (HTTP-Redirect); its id is stored first. */
  async loginUrl(c: SamlConnection, relayState: string): Promise<string> {
    return this.saml(c).getAuthorizeUrlAsync(relayState, undefined, {});
  }

  async validate(c: SamlConnection, samlResponse: string): Promise<LoginProfile> {
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
    const attributes = { ...Object.fromEntries(attributesWithoutValues(profile.getAssertionXml()).map((n) => [n, []])), ...(profile.attributes ?? {}) } as Record<string, unknown>;
    return toLoginProfile('saml', profile.nameID, attributes, c.attribute_mapping);
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
