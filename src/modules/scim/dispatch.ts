import type { Container } from '../../container.js';
import type { JsonObject } from './coerce.js';
import type { ScimContext } from './context.js';
import { assertSafeKeys, scimError } from './errors.js';
import { readPatchOps } from './patch-path.js';
import { listResources, type ListQuery, type ListResponse } from './list.js';
import { parseProjection, project, wants } from './projection.js';
import { GROUP_TYPE, USER_TYPE } from './resource-types.js';
import { resourceTypes, schemas, serviceProviderConfig } from './discovery.js';
import { ScimUserService } from './user-service.js';
import { ScimGroupService } from './group-service.js';
import { searchRoot } from './root-search.js';

/** A SCIM operation stripped of HTTP: what the routes and each Bulk operation hand over. */
export interface ScimRequest {
  method: string;
  /** Path below the directory's base URL: `/Users/{id}`. */
  path: string;
  query: Record<string, string | undefined>;
  body: unknown;
  ifMatch?: string;
}

export interface ScimResult {
  status: number;
  body?: JsonObject | ListResponse;
  location?: string;
  version?: string;
}

const ok = (body: JsonObject, status = 200): ScimResult => {
  const m = body.meta as JsonObject | undefined;
  return { status, body, location: typeof m?.location === 'string' ? m.location : undefined, version: typeof m?.version === 'string' ? m.version : undefined };
};

const methodNotAllowed = (method: string, path: string) => scimError(405, undefined, `${method} is not supported on ${path}.`);

/** `POST /.search` bodies carry the list parameters (RFC 7644 §3.4.3); arrays become comma lists. */
function searchQuery(body: unknown): ListQuery {
  const b = (body ?? {}) as Record<string, unknown>;
  const s = (v: unknown) => (v === undefined || v === null ? undefined : Array.isArray(v) ? v.map(String).join(',') : String(v));
  return { filter: s(b.filter), startIndex: s(b.startIndex), count: s(b.count), sortBy: s(b.sortBy), sortOrder: s(b.sortOrder), attributes: s(b.attributes), excludedAttributes: s(b.excludedAttributes) };
}

export class ScimDispatcher {
  private readonly users: ScimUserService;
  private readonly groups: ScimGroupService;
  constructor(private readonly c: Container) {
    this.users = new ScimUserService(c);
    this.groups = new ScimGroupService(c);
  }

  async handle(ctx: ScimContext, req: ScimRequest): Promise<ScimResult> {
    let segments: string[];
    try {
      segments = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw scimError(404, undefined, `No SCIM endpoint at ${req.path}.`);
    }
    if (req.body !== undefined) assertSafeKeys(req.body);
    const method = req.method.toUpperCase();
    const [head, id, extra] = segments;
    const endpoint = head?.toLowerCase();
    // The server root: a query across every resource type (RFC 7644 §3.4.2, §3.4.3).
    if (!endpoint && method === 'GET') return { status: 200, body: await searchRoot(this.c, ctx, req.query) };
    if (endpoint === '.search' && id === undefined) {
      if (method !== 'POST') throw methodNotAllowed(method, req.path);
      return { status: 200, body: await searchRoot(this.c, ctx, searchQuery(req.body)) };
    }
    if (extra !== undefined || !endpoint) throw scimError(404, undefined, `No SCIM endpoint at ${req.path}.`);

    switch (endpoint) {
      case 'serviceproviderconfig':
        if (method !== 'GET') throw methodNotAllowed(method, req.path);
        if (id) break;
        return ok(serviceProviderConfig(ctx.baseUrl));
      case 'resourcetypes':
        if (method !== 'GET') throw methodNotAllowed(method, req.path);
        return ok(resourceTypes(ctx.baseUrl, id));
      case 'schemas':
        if (method !== 'GET') throw methodNotAllowed(method, req.path);
        return ok(schemas(ctx.baseUrl, id));
      case 'me':
        throw scimError(501, undefined, '/Me is not supported: SCIM clients here are identity providers, not users.');
      case 'users':
        return this.resource(ctx, req, method, 'User', id);
      case 'groups':
        return this.resource(ctx, req, method, 'Group', id);
    }
    throw scimError(404, undefined, `No SCIM endpoint at ${req.path}.`);
  }

  private async resource(ctx: ScimContext, req: ScimRequest, method: string, kind: 'User' | 'Group', id: string | undefined): Promise<ScimResult> {
    const type = kind === 'User' ? USER_TYPE : GROUP_TYPE;
    const projection = parseProjection(type, req.query.attributes, req.query.excludedAttributes);
    const shape = (r: JsonObject, status = 200) => ok(project(r, projection), status);
    if (id === undefined) {
      if (method === 'GET') return { status: 200, body: await listResources(this.c, ctx, kind, req.query) };
      if (method === 'POST') return shape(kind === 'User' ? await this.users.create(ctx, req.body) : await this.groups.create(ctx, req.body), 201);
      throw methodNotAllowed(method, req.path);
    }
    if (id === '.search') {
      if (method !== 'POST') throw methodNotAllowed(method, req.path);
      return { status: 200, body: await listResources(this.c, ctx, kind, searchQuery(req.body)) };
    }
    switch (method) {
      case 'GET':
        return shape(kind === 'User' ? await this.users.get(ctx, id, wants(projection, 'groups')) : await this.groups.get(ctx, id, wants(projection, 'members')));
      case 'PUT':
        return shape(kind === 'User' ? await this.users.replace(ctx, id, req.body, req.ifMatch) : await this.groups.replace(ctx, id, req.body, req.ifMatch));
      case 'PATCH': {
        const ops = readPatchOps(req.body);
        if (kind === 'User') return shape(await this.users.patch(ctx, id, ops, req.ifMatch));
        // Returning every member after a member change would cost O(group size): answer 204 (RFC 7644
        // §3.5.2 allows it) unless the client asked for specific attributes.
        const asked = req.query.attributes !== undefined || req.query.excludedAttributes !== undefined;
        const group = await this.groups.patch(ctx, id, ops, req.ifMatch, asked && wants(projection, 'members'));
        if (asked) return shape(group);
        const r = ok(group);
        return { status: 204, location: r.location, version: r.version };
      }
      case 'DELETE':
        if (kind === 'User') await this.users.delete(ctx, id, req.ifMatch);
        else await this.groups.delete(ctx, id, req.ifMatch);
        return { status: 204 };
    }
    throw methodNotAllowed(method, req.path);
  }
}
