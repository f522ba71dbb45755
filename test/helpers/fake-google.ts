import { createVerify, generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Google for pull tests, following the documented shapes: the OAuth token endpoint taking a
 * service-account JWT assertion (RFC 7523, signature checked against the key's public half), and
 * the Admin SDK Directory API `users.list` (`showDeleted`, `query=isSuspended=true`), `groups.list`
 * and `members.list` with page tokens; empty pages omit their list key, as Google's do.
 */
export interface GoogleUser {
  id: string;
  primaryEmail: string;
  name: { givenName: string; familyName: string; fullName: string };
  suspended: boolean;
  archived?: boolean;
}

type Fault = { path: string; status: number; body?: unknown; headers?: Record<string, string>; times: number };

export class FakeGoogle {
  readonly keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  readonly clientEmail = 'orgsync-sync@acme-project.iam.gserviceaccount.com';
  readonly users = new Map<string, GoogleUser>();
  readonly deleted = new Map<string, GoogleUser>();
  readonly groups = new Map<string, { id: string; email: string; name: string; members: Set<string> }>();
  readonly requests: Array<{ method: string; path: string }> = [];
  readonly assertions: Array<Record<string, unknown>> = [];
  private faults: Fault[] = [];
  pageSize = 2;
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  get apiBase(): string {
    return `${this.url}/admin/directory/v1`;
  }

  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  /** The service-account JSON key as Google's console downloads it (its token_uri is Google's). */
  get serviceAccountKey(): Record<string, string> {
    return {
      type: 'service_account',
      project_id: 'acme-project',
      private_key_id: 'k1',
      private_key: this.keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: this.clientEmail,
      client_id: '1234567890',
      token_uri: 'https://oauth2.googleapis.com/token',
    };
  }

  fail(path: string, status: number, opts: { body?: unknown; headers?: Record<string, string>; times?: number } = {}): void {
    this.faults.push({ path, status, body: opts.body, headers: opts.headers, times: opts.times ?? 1 });
  }

  addUser(id: string, first: string, suspended = false): void {
    this.users.set(id, { id, primaryEmail: `${first.toLowerCase()}@acme.com`, name: { givenName: first, familyName: 'Test', fullName: `${first} Test` }, suspended });
  }

  deleteUser(id: string): void {
    const u = this.users.get(id)!;
    this.users.delete(id);
    this.deleted.set(id, u);
    for (const g of this.groups.values()) g.members.delete(id);
  }

  addGroup(id: string, email: string, members: string[]): void {
    this.groups.set(id, { id, email, name: email.split('@')[0]!, members: new Set(members) });
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private page<T>(items: T[], url: URL, key: string): Record<string, unknown> {
    const max = Math.min(Number(url.searchParams.get('maxResults') ?? 100), this.pageSize);
    const start = Number(url.searchParams.get('pageToken') ?? '0');
    const slice = items.slice(start, start + max);
    const body: Record<string, unknown> = { kind: `admin#directory#${key}`, etag: '"e"' };
    if (slice.length) body[key] = slice;
    if (start + max < items.length) body.nextPageToken = String(start + max);
    return body;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, this.url);
    this.requests.push({ method: req.method!, path: url.pathname + url.search });
    const fault = this.faults.find((f) => url.pathname.startsWith(f.path) && f.times > 0);
    if (fault) {
      fault.times -= 1;
      return this.send(res, fault.status, fault.body ?? { error: { code: fault.status, message: 'injected', errors: [{ reason: 'backendError' }] } }, fault.headers);
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      let raw = '';
      for await (const chunk of req) raw += String(chunk);
      return this.token(res, new URLSearchParams(raw));
    }
    if (req.headers.authorization !== 'Bearer google-access-token') return this.send(res, 401, { error: { code: 401, message: 'Login Required.', errors: [{ reason: 'required' }] } });
    if (url.searchParams.get('customer') !== 'my_customer' && url.searchParams.get('domain') !== 'acme.com' && !url.pathname.includes('/members')) {
      return this.send(res, 400, { error: { code: 400, message: 'Bad Request', errors: [{ reason: 'badRequest' }] } });
    }
    const base = '/admin/directory/v1';
    if (url.pathname === `${base}/users`) {
      const sorted = (m: Map<string, GoogleUser>) => [...m.values()].sort((a, b) => a.primaryEmail.localeCompare(b.primaryEmail));
      if (url.searchParams.get('showDeleted') === 'true') return this.send(res, 200, this.page(sorted(this.deleted), url, 'users'));
      let users = sorted(this.users);
      if (url.searchParams.get('query') === 'isSuspended=true') users = users.filter((u) => u.suspended);
      return this.send(res, 200, this.page(users, url, 'users'));
    }
    if (url.pathname === `${base}/groups`) return this.send(res, 200, this.page([...this.groups.values()].map(({ members: _m, ...g }) => g), url, 'groups'));
    const m = /^\/admin\/directory\/v1\/groups\/([^/]+)\/members$/.exec(url.pathname);
    if (m) {
      const g = this.groups.get(decodeURIComponent(m[1]!));
      if (!g) return this.send(res, 404, { error: { code: 404, message: 'Resource Not Found: groupKey', errors: [{ reason: 'notFound' }] } });
      return this.send(res, 200, this.page([...g.members].sort().map((id) => ({ kind: 'admin#directory#member', id, type: 'USER', role: 'MEMBER', status: 'ACTIVE' })), url, 'members'));
    }
    return this.send(res, 404, { error: { code: 404, message: 'Not Found' } });
  }

  private token(res: ServerResponse, form: URLSearchParams): void {
    const deny = (why: string) => this.send(res, 400, { error: 'invalid_grant', error_description: why });
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return deny('grant_type');
    const [h, p, sig] = (form.get('assertion') ?? '').split('.');
    if (!h || !p || !sig) return deny('assertion');
    const verifier = createVerify('RSA-SHA256');
    verifier.update(`${h}.${p}`);
    if (!verifier.verify(this.keys.publicKey, Buffer.from(sig, 'base64url'))) return deny('Invalid JWT Signature.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    this.assertions.push(claims);
    if (claims.iss !== this.clientEmail || claims.aud !== this.tokenUrl || claims.sub !== 'admin@acme.com') return deny('claims');
    if (!String(claims.scope).includes('admin.directory.user.readonly')) return deny('unauthorized_client');
    this.send(res, 200, { access_token: 'google-access-token', expires_in: 3599, token_type: 'Bearer' });
  }
}
