import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { Browser, Hop } from './sso-browser.js';

export interface OpAccount {
  sub: string;
  email: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
  oid?: string;
}

/**
 * An independent OpenID Provider (oidc-provider) on loopback, with its development login and
 * consent pages, so tests drive the real authorization-code flow through a browser.
 */
export class OidcTestOp {
  private server?: Server;
  private provider?: Provider;
  issuer = '';
  readonly accounts = new Map<string, OpAccount>();
  /**
   * When set, every ID token the token endpoint issues has its claims passed through this and is
   * signed again with the OP's own key (same header, same kid): a deliberately wrong but genuinely
   * signed ID token, so the only fault is the claim a test changes.
   */
  tamperIdToken?: (claims: Record<string, unknown>) => Record<string, unknown>;
  /**
   * When set, every ID token the token endpoint issues is replaced by what this returns: a token
   * the OP never signed (another key, `alg: none`, HMAC), for the attack tests.
   */
  replaceIdToken?: (genuine: string) => string;
  /** The OP's only signing key, published at its jwks_uri. */
  private readonly signingKey: KeyObject = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

  private handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();

  /** Listens first: the issuer URL goes into the connection, whose redirect URI the client needs. */
  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handler(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * The client orgsync is at this OP: `client_secret_post` unless `token_endpoint_auth_method` says
   * otherwise (`private_key_jwt` with the `jwks_uri` orgsync serves). `clientAuthMethods`: what the
   * OP offers in discovery (oidc-provider's default when unset).
   */
  configure(client: { client_id: string; client_secret?: string; redirect_uris: string[]; token_endpoint_auth_method?: string; jwks_uri?: string }, opts: { clientAuthMethods?: string[] } = {}): void {
    this.provider = new Provider(this.issuer, {
      clients: [{ token_endpoint_auth_method: 'client_secret_post', ...client, grant_types: ['authorization_code'], response_types: ['code'] } as never],
      ...(opts.clientAuthMethods ? { clientAuthMethods: opts.clientAuthMethods as never } : {}),
      // oidc-provider refuses to fetch from loopback addresses (SSRF protection); orgsync's JWKS is on
      // 127.0.0.1 in tests, so the client's jwks_uri is fetched without that dispatcher.
      fetch: (url: string | URL | Request, options?: RequestInit) => {
        const { dispatcher: _ssrfGuard, ...rest } = (options ?? {}) as RequestInit & { dispatcher?: unknown };
        return globalThis.fetch(url, rest);
      },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups', 'oid'] },
      scopes: ['openid', 'email', 'profile', 'groups'],
      conformIdTokenClaims: false,
      features: { devInteractions: { enabled: true } },
      pkce: { required: () => true },
      // Chosen lifetimes (seconds): the library asks for them instead of relying on its defaults.
      ttl: { Interaction: 3600, Session: 24 * 3600, Grant: 24 * 3600, AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60 },
      cookies: { keys: ['oidc-test-op-cookie-key-0123456789'] },
      jwks: { keys: [{ ...this.signingKey.export({ format: 'jwk' }), kid: 'oidc-test-op', use: 'sig', alg: 'RS256' } as never] },
      findAccount: async (_ctx, sub) => {
        const account = this.accounts.get(sub);
        if (!account) return undefined;
        return { accountId: sub, claims: async () => ({ ...account }) };
      },
    });
    this.provider.use(async (ctx, next) => {
      await next();
      const body = ctx.body as { id_token?: unknown } | undefined;
      if (this.tamperIdToken && ctx.oidc?.route === 'token' && ctx.status === 200 && typeof body?.id_token === 'string') {
        body.id_token = this.resign(body.id_token, this.tamperIdToken);
      }
      if (this.replaceIdToken && ctx.oidc?.route === 'token' && ctx.status === 200 && typeof body?.id_token === 'string') {
        body.id_token = this.replaceIdToken(body.id_token);
      }
    });
    this.handler = this.provider.callback() as unknown as typeof this.handler;
  }

  /** Decodes a compact JWS, changes its claims and signs it again (RS256) with the OP's key. */
  private resign(jwt: string, tamper: (claims: Record<string, unknown>) => Record<string, unknown>): string {
    const [header, payload] = jwt.split('.');
    if (JSON.parse(Buffer.from(header!, 'base64url').toString()).alg !== 'RS256') throw new Error('the test OP signs ID tokens with RS256 only');
    const claims = tamper(JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>);
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${input}.${createSign('RSA-SHA256').update(input).sign(this.signingKey).toString('base64url')}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

/** Follows redirects, fills the OP's login form as `login` and accepts consent, back to our site. */
export async function signInAtOp(browser: Browser, startUrl: string, login: string, opts: { headers?: Record<string, string> } = {}): Promise<Hop> {
  let hop = await browser.request('GET', startUrl, opts);
  for (let i = 0; i < 20; i++) {
    const location = hop.headers.get('location');
    if (hop.status >= 300 && hop.status < 400 && location) {
      hop = await browser.request('GET', new URL(location, hop.url).href, opts);
      continue;
    }
    const form = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(hop.text);
    if (hop.status === 200 && form) {
      const fields: Record<string, string> = {};
      for (const m of hop.text.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) fields[m[1]!] = m[2]!;
      if (/name="login"/.test(hop.text)) Object.assign(fields, { login, password: 'any-password' });
      hop = await browser.request('POST', new URL(form[1]!, hop.url).href, { body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...opts.headers } });
      continue;
    }
    return hop;
  }
  throw new Error('too many hops');
}
