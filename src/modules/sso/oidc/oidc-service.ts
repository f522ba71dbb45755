import * as client from 'openid-client';
import type { Connection, OidcIdp } from '../../connections/schema.js';
import { oidcSp } from '../../connections/sp-urls.js';
import { ssoFailure } from '../errors.js';
import type { AttributeMapping } from '../../connections/attribute-mapping.js';
import { clientAuth, type SigningKeySource } from './client-auth.js';
import { callbackFailure, discoveryFailure } from './oidc-failures.js';
import { toLoginProfile, type LoginProfile } from '../login-profile.js';

export type OidcConnection = Connection & { type: 'oidc'; idp: OidcIdp };

/** What the login step keeps until the callback: sealed in the browser's pre-login cookie for this connection. */
export interface OidcPending {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string | null;
  at: number;
}

const PENDING_TTL_MS = 10 * 60 * 1000;

/**
 * openid-client per connection: discovery (cached per connection version), authorization code with
 * PKCE, state and nonce. openid-client checks iss, aud, azp, exp, iat, nonce, state, algorithms and
 * (enabled below) the ID token's signature against the OP's JWKS.
 */
export class OidcService {
  private readonly configs = new Map<string, Promise<client.Configuration>>();

  constructor(
    private readonly publicUrl: () => string,
    private readonly clientSecret: (idp: OidcIdp) => string | undefined,
    private readonly signingKey: (c: OidcConnection) => SigningKeySource,
  ) {}

  private config(c: OidcConnection): Promise<client.Configuration> {
    const key = `${c.id}@${c.updated_at}`;
    let cached = this.configs.get(key);
    if (!cached) {
      const issuer = new URL(c.idp.issuer);
      // Plain http was accepted at creation only for loopback issuers (development, tests).
      const insecure = issuer.protocol === 'http:';
      cached = client
        .discovery(issuer, c.idp.client_id, undefined, clientAuth(c.idp, this.clientSecret(c.idp), this.signingKey(c)), insecure ? { execute: [client.allowInsecureRequests] } : undefined)
        .then((config) => {
          // openid-client trusts an ID token that came straight from the token endpoint without
          // checking its signature; verify it against the OP's published keys (jwks_uri) as well,
          // which also refuses `alg: none` and HMAC tokens keyed with the client secret.
          client.enableNonRepudiationChecks(config);
          return config;
        })
        .catch((err: unknown) => {
          this.configs.delete(key);
          throw discoveryFailure(err, c.idp.issuer);
        });
      for (const k of this.configs.keys()) if (k.startsWith(`${c.id}@`)) this.configs.delete(k);
      this.configs.set(key, cached);
    }
    return cached;
  }

  async start(c: OidcConnection, returnTo: string | null, now: number): Promise<{ url: string; pending: OidcPending }> {
    const config = await this.config(c);
    const pending: OidcPending = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier(), returnTo, at: now };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: oidcSp(this.publicUrl(), c.id).redirect_uri,
      scope: c.idp.scopes.join(' '),
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, pending };
  }

  async finish(c: OidcConnection, pending: OidcPending | undefined, search: string, now: number): Promise<LoginProfile> {
    if (!pending || now - pending.at > PENDING_TTL_MS) throw ssoFailure('invalid_response', { why: 'no sign-in in progress for this browser' });
    const config = await this.config(c);
    const current = new URL(oidcSp(this.publicUrl(), c.id).redirect_uri);
    current.search = search;
    let claims: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      claims = { ...(tokens.claims() ?? {}) };
      // Many OPs put only `sub` (or no groups) in the ID token and the rest in userinfo.
      if (missesMappedClaim(claims, c.attribute_mapping) && tokens.access_token && config.serverMetadata().userinfo_endpoint) {
        const info = await client.fetchUserInfo(config, tokens.access_token, String(claims.sub));
        claims = { ...info, ...claims };
      }
    } catch (err) {
      throw callbackFailure(err);
    }
    const verified = claims.email_verified;
    const emailVerified = verified === undefined || verified === null ? null : !(verified === false || verified === 'false');
    return toLoginProfile('oidc', String(claims.sub), claims, c.attribute_mapping, emailVerified);
  }
}

/** True when some mapped field (email, name, groups…) has none of its claim names in the ID token. */
function missesMappedClaim(claims: Record<string, unknown>, mapping: AttributeMapping): boolean {
  return (Object.entries(mapping) as [string, string[]][]).some(([field, names]) => field !== 'subject' && names.length > 0 && !names.some((n) => claims[n] !== undefined && claims[n] !== null));
}
