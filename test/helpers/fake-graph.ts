import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Microsoft Graph for pull tests, following the documented shapes: the v2.0 token endpoint
 * (client credentials), `/users/delta` and `/groups/delta` with `$select`, `@odata.nextLink` /
 * `@odata.deltaLink`, `@removed`, `members@delta`, 410 `syncStateNotFound` for an expired delta
 * token, and 429 with `Retry-After`. Later rounds carry only the changed properties plus `id`.
 */
export interface GraphUser {
  id: string;
  displayName: string;
  givenName?: string | null;
  surname?: string | null;
  userPrincipalName: string;
  mail: string | null;
  accountEnabled: boolean;
}

type Fault = { path: string; status: number; body?: unknown; headers?: Record<string, string>; times: number };

interface Change {
  version: number;
  kind: 'user' | 'group';
  id: string;
  props?: string[];
  removed?: boolean;
  membersAdded?: string[];
  membersRemoved?: string[];
}

export class FakeGraph {
  readonly users = new Map<string, GraphUser>();
  readonly groups = new Map<string, { id: string; displayName: string; members: Set<string> }>();
  readonly requests: Array<{ method: string; path: string; auth: string | null }> = [];
  readonly tokenRequests: URLSearchParams[] = [];
  private changes: Change[] = [];
  private readonly snapshots = new Map<string, Array<Record<string, unknown>>>();
  private version = 1;
  private faults: Fault[] = [];
  /** Delta tokens below this version answer 410 syncStateNotFound. */
  minDeltaVersion = 0;
  pageSize = 2;
  clientSecret = 'graph-secret';
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
    return `${this.url}/v1.0`;
  }

  get tokenUrl(): string {
    return `${this.url}/tenant-1/oauth2/v2.0/token`;
  }

  /** Fails the next `times` requests whose path starts with `path`. */
  fail(path: string, status: number, opts: { body?: unknown; headers?: Record<string, string>; times?: number } = {}): void {
    this.faults.push({ path, status, body: opts.body, headers: opts.headers, times: opts.times ?? 1 });
  }

  /** Drops the faults not yet answered. */
  clearFaults(): void {
    this.faults = [];
  }

  addUser(u: GraphUser): void {
    this.users.set(u.id, u);
    this.changes.push({ version: ++this.version, kind: 'user', id: u.id });
  }

  updateUser(id: string, props: Partial<GraphUser>): void {
    Object.assign(this.users.get(id)!, props);
    this.changes.push({ version: ++this.version, kind: 'user', id, props: Object.keys(props) });
  }

  deleteUser(id: string): void {
    this.users.delete(id);
    for (const g of this.groups.values()) g.members.delete(id);
    this.changes.push({ version: ++this.version, kind: 'user', id, removed: true });
  }

  /** Deleted without a trace in delta (as if it happened while our delta token was expired). */
  forgetUser(id: string): void {
    // A new version with no change recorded: fresh full listings no longer show the user.
    this.version += 1;
    this.users.delete(id);
    for (const g of this.groups.values()) g.members.delete(id);
  }

  addGroup(id: string, displayName: string, members: string[] = []): void {
    this.groups.set(id, { id, displayName, members: new Set(members) });
    this.changes.push({ version: ++this.version, kind: 'group', id, membersAdded: members });
  }

  addMembers(id: string, members: string[]): void {
    for (const m of members) this.groups.get(id)!.members.add(m);
    this.changes.push({ version: ++this.version, kind: 'group', id, membersAdded: members });
  }

  removeMembers(id: string, members: string[]): void {
    for (const m of members) this.groups.get(id)!.members.delete(m);
    this.changes.push({ version: ++this.version, kind: 'group', id, membersRemoved: members });
  }

  /** The delta tokens handed out so far stop working. */
  expireDeltaTokens(): void {
    this.minDeltaVersion = this.version + 1;
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, this.url);
    this.requests.push({ method: req.method!, path: url.pathname + url.search, auth: req.headers.authorization ?? null });
    const fault = this.faults.find((f) => url.pathname.startsWith(f.path) && f.times > 0);
    if (fault) {
      fault.times -= 1;
      return this.send(res, fault.status, fault.body ?? { error: { code: 'fault', message: 'injected' } }, fault.headers);
    }
    if (req.method === 'POST' && url.pathname === '/tenant-1/oauth2/v2.0/token') {
      let raw = '';
      for await (const chunk of req) raw += String(chunk);
      const form = new URLSearchParams(raw);
      this.tokenRequests.push(form);
      if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== 'app-1' || form.get('client_secret') !== this.clientSecret || form.get('scope') !== `${this.url}/.default`) {
        return this.send(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
      }
      return this.send(res, 200, { token_type: 'Bearer', expires_in: 3599, access_token: 'graph-access-token' });
    }
    if (req.headers.authorization !== 'Bearer graph-access-token') {
      return this.send(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' } });
    }
    if (url.pathname === '/v1.0/users/delta') return this.delta(res, url, 'user');
    if (url.pathname === '/v1.0/groups/delta') return this.delta(res, url, 'group');
    return this.send(res, 404, { error: { code: 'Request_ResourceNotFound', message: 'not found' } });
  }

  private delta(res: ServerResponse, url: URL, kind: 'user' | 'group'): void {
    const select = (url.searchParams.get('$select') ?? '').split(',').filter(Boolean);
    const token = url.searchParams.get('$deltatoken');
    const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
    const snap = Number(url.searchParams.get('snap') ?? this.version);
    if (token !== null && Number(token) < this.minDeltaVersion) return this.send(res, 410, { error: { code: 'syncStateNotFound', message: 'The delta token has expired.' } });
    // One snapshot per round, reused by its pages (as Graph's own paging does): pages stay cheap at 100k objects.
    const key = `${kind}|${select.join(',')}|${token}|${snap}`;
    let items = this.snapshots.get(key);
    if (items) return this.respond(res, kind, items, select, token, skip, snap);
    if (token !== null) {
      const since = Number(token);
      if (since < this.minDeltaVersion) return this.send(res, 410, { error: { code: 'syncStateNotFound', message: 'The delta token has expired.' } });
      items = this.changesSince(kind, since, select);
    } else {
      items = kind === 'user' ? [...this.users.values()].map((u) => this.pick(u, select)) : [...this.groups.values()].map((g) => ({ id: g.id, displayName: g.displayName, 'members@delta': [...g.members].map((m) => ({ '@odata.type': '#microsoft.graph.user', id: m })) }));
    }
    if (this.snapshots.size > 8) this.snapshots.clear();
    this.snapshots.set(key, items);
    this.respond(res, kind, items, select, token, skip, snap);
  }

  private respond(res: ServerResponse, kind: 'user' | 'group', items: Array<Record<string, unknown>>, select: string[], token: string | null, skip: number, snap: number): void {
    const path = kind === 'user' ? 'users' : 'groups';
    const page = items.slice(skip, skip + this.pageSize);
    const selectParam = `$select=${select.join(',')}`;
    const body: Record<string, unknown> = { '@odata.context': `${this.apiBase}/$metadata#${path}(${select.join(',')})`, value: page };
    if (skip + this.pageSize < items.length) {
      body['@odata.nextLink'] = `${this.apiBase}/${path}/delta?${selectParam}&$skiptoken=${skip + this.pageSize}&snap=${snap}${token !== null ? `&$deltatoken=${token}` : ''}`;
    } else {
      body['@odata.deltaLink'] = `${this.apiBase}/${path}/delta?${selectParam}&$deltatoken=${snap}`;
    }
    this.send(res, 200, body);
  }

  private pick(u: GraphUser, select: string[]): Record<string, unknown> {
    // As in Graph: without $select a user carries no accountEnabled.
    const fields = select.length ? select : ['id', 'displayName', 'userPrincipalName', 'mail', 'givenName', 'surname'];
    return Object.fromEntries(fields.filter((f) => f in u || f === 'id').map((f) => [f, (u as unknown as Record<string, unknown>)[f] ?? null]));
  }

  private changesSince(kind: 'user' | 'group', since: number, select: string[]): Array<Record<string, unknown>> {
    const out = new Map<string, Record<string, unknown>>();
    for (const c of this.changes.filter((x) => x.kind === kind && x.version > since)) {
      if (kind === 'user') {
        if (c.removed) out.set(c.id, { id: c.id, '@removed': { reason: 'deleted' } });
        else {
          const u = this.users.get(c.id);
          if (!u) continue;
          const prev = out.get(c.id) ?? { id: c.id };
          const props = c.props ?? select.filter((s) => s !== 'id');
          out.set(c.id, { ...prev, ...this.pick(u, ['id', ...props.filter((p) => select.includes(p))]) });
        }
      } else {
        const g = this.groups.get(c.id);
        if (!g) {
          out.set(c.id, { id: c.id, '@removed': { reason: 'deleted' } });
          continue;
        }
        const prev = out.get(c.id) ?? { id: c.id, displayName: g.displayName, 'members@delta': [] as unknown[] };
        const members = prev['members@delta'] as unknown[];
        for (const m of c.membersAdded ?? []) members.push({ '@odata.type': '#microsoft.graph.user', id: m });
        for (const m of c.membersRemoved ?? []) members.push({ '@odata.type': '#microsoft.graph.user', id: m, '@removed': { reason: 'deleted' } });
        out.set(c.id, prev);
      }
    }
    return [...out.values()];
  }
}
