import { chooseAuthMethod } from '../sso/oidc/client-auth.js';
import type { OidcIdp } from './schema.js';

/** One thing checked against the OP, in words an IT admin can act on. */
export interface OidcCheck {
  check: 'discovery' | 'issuer' | 'endpoints' | 'algorithms' | 'response_type' | 'token_endpoint_auth' | 'jwks';
  ok: boolean;
  message: string;
}

export interface OidcCheckReport {
  /** False when no discovery document could be read (network, timeout, HTTP error): nothing else was checked. */
  reached: boolean;
  ok: boolean;
  checks: OidcCheck[];
}

const TIMEOUT_MS = 5000;
/** What ID tokens may be signed with: their signature is checked against the OP's JWKS, so no HMAC or `none`. */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

async function getJson(url: string): Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; why: string }> {
  try {
    // No redirects: the document must live at the issuer, as discovery at sign-in requires.
    const res = await fetch(url, { redirect: 'manual', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (res.status !== 200) return { ok: false, why: `HTTP ${res.status}` };
    const body = (await res.json()) as unknown;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return { ok: false, why: 'not a JSON object' };
    return { ok: true, body: body as Record<string, unknown> };
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown } }).cause;
    return { ok: false, why: typeof cause?.code === 'string' ? cause.code : (err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message.slice(0, 200) };
  }
}

const sameUrl = (a: string, b: string): boolean => {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
};
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * Reads the OP's discovery document and checks what sign-in will rely on: the issuer it publishes,
 * its endpoints, an ID token algorithm orgsync verifies, the code flow, a client authentication
 * method in common and a JWKS with keys. Nothing secret is sent to the OP.
 */
export async function checkOidcIdp(idp: Pick<OidcIdp, 'issuer' | 'token_endpoint_auth_method'>): Promise<OidcCheckReport> {
  const url = `${idp.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const doc = await getJson(url);
  if (!doc.ok) return { reached: false, ok: false, checks: [{ check: 'discovery', ok: false, message: `Could not read ${url}: ${doc.why}.` }] };
  const as = doc.body;
  const checks: OidcCheck[] = [{ check: 'discovery', ok: true, message: `Read ${url}.` }];
  const published = typeof as.issuer === 'string' ? as.issuer.slice(0, 500) : '(none)';
  checks.push(
    sameUrl(published, idp.issuer)
      ? { check: 'issuer', ok: true, message: `The OP publishes the issuer "${published}".` }
      : { check: 'issuer', ok: false, message: `The OP publishes the issuer "${published}", not "${idp.issuer}": set the connection's issuer to exactly the published value.` },
  );
  const secure = new URL(idp.issuer).protocol === 'https:';
  const bad = ['authorization_endpoint', 'token_endpoint', 'jwks_uri'].filter((k) => {
    const v = as[k];
    if (typeof v !== 'string') return true;
    try {
      const u = new URL(v);
      return u.protocol !== 'https:' && (secure || u.protocol !== 'http:');
    } catch {
      return true;
    }
  });
  checks.push(bad.length ? { check: 'endpoints', ok: false, message: `Missing or not ${secure ? 'https' : 'http(s)'} URLs: ${bad.join(', ')}.` } : { check: 'endpoints', ok: true, message: 'Authorization, token and JWKS endpoints are published.' });
  const algs = strings(as.id_token_signing_alg_values_supported);
  const usable = algs.filter((a) => ASYMMETRIC.includes(a));
  checks.push(
    usable.length
      ? { check: 'algorithms', ok: true, message: `ID tokens can be signed with ${usable.join(', ')}.` }
      : { check: 'algorithms', ok: false, message: `The OP signs ID tokens only with ${algs.join(', ') || '(nothing listed)'}; orgsync needs a public-key algorithm (RS256, PS256, ES256, EdDSA…).` },
  );
  const responseTypes = strings(as.response_types_supported);
  checks.push(responseTypes.includes('code') ? { check: 'response_type', ok: true, message: 'The authorization code flow is offered.' } : { check: 'response_type', ok: false, message: `The OP does not offer response_type "code" (offers: ${responseTypes.join(', ') || 'nothing'}).` });
  const offered = strings(as.token_endpoint_auth_methods_supported);
  const method = chooseAuthMethod(idp.token_endpoint_auth_method, as.token_endpoint_auth_methods_supported);
  checks.push(
    offered.length === 0 || offered.includes(method)
      ? { check: 'token_endpoint_auth', ok: true, message: `orgsync will authenticate with ${method}${idp.token_endpoint_auth_method ? ' (set on the connection)' : ''}.` }
      : { check: 'token_endpoint_auth', ok: false, message: `The OP offers ${offered.join(', ')} at its token endpoint, not ${method}: set idp.token_endpoint_auth_method to one it offers.` },
  );
  const signingAlgs = strings(as.token_endpoint_auth_signing_alg_values_supported);
  if (method === 'private_key_jwt' && signingAlgs.length > 0 && !signingAlgs.includes('RS256')) {
    checks.push({ check: 'token_endpoint_auth', ok: false, message: `The OP accepts client assertions signed with ${signingAlgs.join(', ')}; orgsync signs private_key_jwt with RS256.` });
  }
  if (typeof as.jwks_uri === 'string' && !bad.includes('jwks_uri')) {
    const jwks = await getJson(as.jwks_uri);
    const keys = jwks.ok && Array.isArray(jwks.body.keys) ? jwks.body.keys.length : 0;
    checks.push(keys > 0 ? { check: 'jwks', ok: true, message: `The JWKS holds ${keys} key(s).` } : { check: 'jwks', ok: false, message: `The JWKS at ${as.jwks_uri} ${jwks.ok ? 'holds no keys' : `could not be read: ${jwks.why}`}.` });
  }
  return { reached: true, ok: checks.every((c) => c.ok), checks };
}
