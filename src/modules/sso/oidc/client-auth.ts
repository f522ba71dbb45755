import * as client from 'openid-client';
import type { OidcIdp, TokenEndpointAuthMethod } from '../../connections/schema.js';

/**
 * How orgsync authenticates at the OP's token endpoint. A connection may name the method; otherwise
 * it follows discovery's `token_endpoint_auth_methods_supported`: `client_secret_basic` (the OIDC
 * default, also when discovery lists nothing) unless the OP offers only `client_secret_post`.
 */
export function chooseAuthMethod(configured: TokenEndpointAuthMethod | undefined, supported: unknown): TokenEndpointAuthMethod {
  if (configured) return configured;
  const offered = Array.isArray(supported) ? supported.filter((m): m is string => typeof m === 'string') : [];
  if (offered.length === 0 || offered.includes('client_secret_basic')) return 'client_secret_basic';
  return offered.includes('client_secret_post') ? 'client_secret_post' : 'client_secret_basic';
}

/** Decided per call from the discovered metadata, so a change at the OP is followed at the next discovery. */
export function clientAuth(idp: OidcIdp, secret: string): client.ClientAuth {
  const basic = secretBasic(secret);
  const post = client.ClientSecretPost(secret);
  return (as, c, body, headers) => {
    const method = chooseAuthMethod(idp.token_endpoint_auth_method, as.token_endpoint_auth_methods_supported);
    return (method === 'client_secret_post' ? post : basic)(as, c, body, headers);
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
