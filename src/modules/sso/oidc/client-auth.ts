import { createPrivateKey } from 'node:crypto';
import * as client from 'openid-client';
import type { OidcIdp, TokenEndpointAuthMethod } from '../../connections/schema.js';
import { ssoFailure } from '../errors.js';

/**
 * How orgsync authenticates at the OP's token endpoint. A connection may name the method; otherwise
 * it follows discovery's `token_endpoint_auth_methods_supported`: `client_secret_basic` (the OIDC
 * default, also when discovery lists nothing) unless the OP offers only `client_secret_post`, or
 * only `private_key_jwt` (signed with the connection's own key, published at its JWKS URL).
 */
export function chooseAuthMethod(configured: TokenEndpointAuthMethod | undefined, supported: unknown): TokenEndpointAuthMethod {
  if (configured) return configured;
  const offered = Array.isArray(supported) ? supported.filter((m): m is string => typeof m === 'string') : [];
  if (offered.length === 0 || offered.includes('client_secret_basic')) return 'client_secret_basic';
  if (offered.includes('client_secret_post')) return 'client_secret_post';
  return offered.includes('private_key_jwt') ? 'private_key_jwt' : 'client_secret_basic';
}

/** The key that signs for the connection now (see signingKeyOf), asked for at each token request so a rotation applies without a restart. */
export type SigningKeySource = () => Promise<{ pem: string; kid: string }>;

/** Decided per call from the discovered metadata, so a change at the OP is followed at the next discovery. */
export function clientAuth(idp: OidcIdp, secret: string | undefined, signingKey: SigningKeySource): client.ClientAuth {
  const basic = secret === undefined ? undefined : secretBasic(secret);
  const post = secret === undefined ? undefined : client.ClientSecretPost(secret);
  return async (as, c, body, headers) => {
    const method = chooseAuthMethod(idp.token_endpoint_auth_method, as.token_endpoint_auth_methods_supported);
    if (method === 'private_key_jwt') {
      const { pem, kid } = await signingKey();
      // RFC 7523 client assertion: iss = sub = client_id, aud = the issuer, short-lived, unique jti.
      const key = await crypto.subtle.importKey('pkcs8', createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' }), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
      await client.PrivateKeyJwt({ key, kid })(as, c, body, headers);
      return;
    }
    const auth = method === 'client_secret_post' ? post : basic;
    if (!auth) throw ssoFailure('idp_error', { why: `the OP wants ${method} and the connection has no client secret (private_key_jwt only)` });
    auth(as, c, body, headers);
  };
}

/**
 * RFC 6749 §2.3.1 form-encodes id and secret before Basic. openid-client also encodes `-`, `.`, `_`
 * and `*`, which the form encoding leaves as they are, and some OPs (glewlwyd) compare the header's
 * values without decoding: a client id like `orgsync-acme` then never matches. The WHATWG form
 * serializer encodes exactly what needs it, so ids and secrets made of those characters go as typed.
 */
function secretBasic(secret: string): client.ClientAuth {
  const encode = (v: string) => new URLSearchParams([['', v]]).toString().slice(1);
  return (_as, c, _body, headers) => {
    headers.set('authorization', `Basic ${Buffer.from(`${encode(c.client_id)}:${encode(secret)}`).toString('base64')}`);
  };
}
