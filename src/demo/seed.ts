import { ACME_DOMAIN, ACME_RULES, GLOBEX_DOMAIN, GLOBEX_RULES, ORGANIZATIONS } from './cast.js';

/**
 * FOR DEMONSTRATION ONLY: sets the demo up through the public management API, exactly as an admin
 * (or their automation) would: organizations, connections with membership rules, a SCIM directory.
 */
export interface Seeded {
  organizations: Record<string, string>;
  saml: { id: string; login_url: string; metadata_url: string };
  oidc: { id: string; login_url: string; redirect_uri: string };
  directory: { id: string; scim_base_url: string; token: string };
}

type Json = Record<string, unknown>;

export class ApiClient {
  constructor(private readonly baseUrl: string, private readonly key: string) {}

  async call(method: string, path: string, body?: unknown): Promise<Json> {
    const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} /api/v1${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return text ? (JSON.parse(text) as Json) : {};
  }
}

export async function seedDemo(
  api: ApiClient,
  idp: { samlMetadataXml: string; oidcIssuer: string; oidcClientId: string; oidcClientSecret: string },
): Promise<Seeded> {
  const organizations: Record<string, string> = {};
  for (const org of ORGANIZATIONS) organizations[org.name] = String((await api.call('POST', '/organizations', org)).id);

  const saml = await api.call('POST', '/connections', {
    name: 'acme-demo-saml',
    type: 'saml',
    domains: [ACME_DOMAIN],
    idp: { metadata_xml: idp.samlMetadataXml },
    membership_rules: ACME_RULES,
  });
  const oidc = await api.call('POST', '/connections', {
    name: 'globex-demo-oidc',
    type: 'oidc',
    domains: [GLOBEX_DOMAIN],
    idp: { issuer: idp.oidcIssuer, client_id: idp.oidcClientId, client_secret: idp.oidcClientSecret, scopes: ['openid', 'email', 'profile', 'groups'] },
    membership_rules: GLOBEX_RULES,
  });
  const directory = await api.call('POST', '/directories', { connection_id: saml.id, name: 'Acme demo directory' });
  const samlSp = saml.sp as Json;
  const oidcSp = oidc.sp as Json;
  return {
    organizations,
    saml: { id: String(saml.id), login_url: String(samlSp.login_url), metadata_url: String(samlSp.metadata_url) },
    oidc: { id: String(oidc.id), login_url: String(oidcSp.login_url), redirect_uri: String(oidcSp.redirect_uri) },
    directory: { id: String(directory.id), scim_base_url: String(directory.scim_base_url), token: String(directory.token) },
  };
}
