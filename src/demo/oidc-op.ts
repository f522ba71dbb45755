import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OidcProviderClass } from './peers.js';
import { demoSecret } from './keys.js';

/** An account at the demo OpenID Provider. */
export interface OpAccount {
  sub: string;
  email: string;
  name: string;
  groups: string[];
}

export interface OpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

/**
 * FOR DEMONSTRATION ONLY: a real OpenID Provider (oidc-provider) with its development login and
 * consent pages, which accept any password. It signs tokens with development keys it makes itself.
 * `accounts` is looked up by `sub`, email or the part before the @, as typed on its login page.
 */
export function createDemoOp(Provider: OidcProviderClass, issuer: string, client: OpClient, accounts: () => OpAccount[]): (req: IncomingMessage, res: ServerResponse) => void {
  const find = (login: string) => {
    const l = login.trim().toLowerCase();
    return accounts().find((a) => a.sub === login || a.email.toLowerCase() === l || a.email.toLowerCase().split('@')[0] === l);
  };
  const provider = new Provider(issuer, {
    clients: [{ ...client, grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' }],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    // Put email and groups in the ID token, as Entra, Okta and Keycloak can be set up to do.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    // Explicit lifetimes (seconds); the library's defaults are fine but it asks for them to be chosen.
    ttl: { Interaction: 3600, Session: 24 * 3600, Grant: 24 * 3600, AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60 },
    cookies: { keys: [demoSecret()] },
    findAccount: async (_ctx, id) => {
      const account = find(id);
      if (!account) return undefined;
      // The subject is the stable id whatever the person typed at the login prompt.
      return { accountId: id, claims: async () => ({ sub: account.sub, email: account.email, email_verified: true, name: account.name, groups: account.groups }) };
    },
  });
  return provider.callback() as unknown as (req: IncomingMessage, res: ServerResponse) => void;
}
