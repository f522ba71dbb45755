import type { JsonObject } from './coerce.js';
import type { ScimContext } from './context.js';
import { invalidSyntax, invalidValue, scimError, scimErrorBody } from './errors.js';
import { BULK_MAX_OPERATIONS } from './discovery.js';
import type { ScimDispatcher } from './dispatch.js';
import { toAppError } from '../../http/api-errors.js';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

interface BulkOp {
  method: string;
  path: string;
  bulkId?: string;
  version?: string;
  data?: unknown;
}

class Unresolved extends Error {
  constructor(public readonly bulkId: string) {
    super(`bulkId:${bulkId} is not resolved`);
  }
}

/** Replaces `bulkId:x` references with the ids created earlier in the request. */
function resolveRefs<T>(value: T, ids: Map<string, string>): T {
  if (typeof value === 'string') {
    if (!value.startsWith('bulkId:')) return value;
    const id = ids.get(value.slice(7));
    if (!id) throw new Unresolved(value.slice(7));
    return id as T;
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, ids)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, ids)])) as T;
  return value;
}

function readOps(body: unknown): { ops: BulkOp[]; failOnErrors: number } {
  const b = (body ?? {}) as Record<string, unknown>;
  if (Array.isArray(b.schemas) && !b.schemas.includes(BULK_REQUEST)) throw invalidSyntax(`schemas must include ${BULK_REQUEST}.`);
  if (!Array.isArray(b.Operations)) throw invalidSyntax('Operations must be an array.');
  if (b.Operations.length > BULK_MAX_OPERATIONS) throw scimError(413, undefined, `A bulk request may hold at most ${BULK_MAX_OPERATIONS} operations.`);
  const failOnErrors = b.failOnErrors === undefined ? Infinity : Number(b.failOnErrors);
  if (!Number.isInteger(failOnErrors) && failOnErrors !== Infinity) throw invalidValue('failOnErrors must be an integer.');
  const ops = b.Operations.map((raw, i): BulkOp => {
    const o = (raw ?? {}) as Record<string, unknown>;
    if (typeof o.method !== 'string' || typeof o.path !== 'string') throw invalidSyntax(`Operations[${i}] needs a method and a path.`);
    const method = o.method.toUpperCase();
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw invalidValue(`Operations[${i}].method must be POST, PUT, PATCH or DELETE.`);
    if (!/^\/(Users|Groups)(\/[^/]+)?$/i.test(o.path)) throw invalidValue(`Operations[${i}].path must name /Users or /Groups.`);
    if (method === 'POST' && typeof o.bulkId !== 'string') throw invalidValue(`Operations[${i}]: POST needs a bulkId.`);
    return { method, path: o.path, bulkId: typeof o.bulkId === 'string' ? o.bulkId : undefined, version: typeof o.version === 'string' ? o.version : undefined, data: o.data };
  });
  return { ops, failOnErrors: Math.max(1, failOnErrors) };
}

/**
 * RFC 7644 §3.7. Each operation runs as its own request (its own transaction); operations that
 * reference a bulkId created later in the list wait until it exists; circular references fail with
 * 409. Processing stops once `failOnErrors` operations failed.
 */
export async function runBulk(d: ScimDispatcher, ctx: ScimContext, body: unknown): Promise<JsonObject> {
  const { ops, failOnErrors } = readOps(body);
  const ids = new Map<string, string>();
  const results = new Map<number, JsonObject>();
  let pending = ops.map((_, i) => i);
  let errors = 0;
  const fail = (i: number, status: number, response: JsonObject) => {
    const op = ops[i]!;
    results.set(i, { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), status: String(status), response });
    errors++;
  };
  while (pending.length && errors < failOnErrors) {
    const waiting: number[] = [];
    for (const i of pending) {
      if (errors >= failOnErrors) break;
      const op = ops[i]!;
      let path: string;
      let data: unknown;
      try {
        path = op.path
          .split('/')
          .map((seg) => resolveRefs(seg, ids))
          .join('/');
        data = resolveRefs(op.data, ids);
      } catch (err) {
        if (err instanceof Unresolved && ops.some((o, j) => o.bulkId === err.bulkId && pending.includes(j) && j !== i)) waiting.push(i);
        else fail(i, 409, scimErrorBody(invalidValue(`bulkId:${(err as Unresolved).bulkId} does not refer to a created resource.`)) as unknown as JsonObject);
        continue;
      }
      try {
        const r = await d.handle(ctx, { method: op.method, path, query: {}, body: data, ifMatch: op.version });
        if (op.method === 'POST' && op.bulkId && r.body && 'id' in r.body && typeof r.body.id === 'string') ids.set(op.bulkId, r.body.id);
        results.set(i, { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), ...(r.location ? { location: r.location } : {}), ...(r.version ? { version: r.version } : {}), status: String(r.status) });
      } catch (err) {
        const e = toAppError(err);
        fail(i, e.status, scimErrorBody(e) as unknown as JsonObject);
      }
    }
    if (waiting.length === pending.length) {
      for (const i of waiting) fail(i, 409, scimErrorBody(invalidValue('Circular bulkId references.')) as unknown as JsonObject);
      break;
    }
    pending = waiting;
  }
  return { schemas: [BULK_RESPONSE], Operations: [...results.keys()].sort((a, b) => a - b).map((i) => results.get(i)!) };
}
