/** The service-provider settings an IdP admin pastes into their IdP, built from PUBLIC_URL. */
export interface SamlSp {
  entity_id: string;
  acs_url: string;
  metadata_url: string;
  login_url: string;
}
export interface OidcSp {
  redirect_uri: string;
  login_url: string;
  /** The public keys of the connection's signing key (current and previous), for OPs that accept private_key_jwt. */
  jwks_uri: string;
}

export function samlSp(publicUrl: string, connectionId: string): SamlSp {
  const base = `${publicUrl}/sso/saml/${connectionId}`;
  // The metadata URL doubles as the SP entity id: unique per connection and resolvable.
  return { entity_id: `${base}/metadata`, acs_url: `${base}/acs`, metadata_url: `${base}/metadata`, login_url: `${base}/login` };
}

export function oidcSp(publicUrl: string, connectionId: string): OidcSp {
  const base = `${publicUrl}/sso/oidc/${connectionId}`;
  return { redirect_uri: `${base}/callback`, login_url: `${base}/login`, jwks_uri: `${base}/jwks.json` };
}
