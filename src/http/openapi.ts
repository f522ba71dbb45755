import { z } from 'zod';
import type { Operation } from './api-router.js';
import { reasonPhrase } from './api-errors.js';

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  // `unrepresentable: 'any'`: transforms and custom checks document as their input type.
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });

const strip = ({ $schema: _s, ...rest }: Record<string, unknown>) => rest;

const errorResponse = (status: number) => ({
  description: reasonPhrase(status),
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** Express `/a/:b` → OpenAPI `/a/{b}`. */
const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function queryParameters(schema: z.ZodType): unknown[] {
  const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: js.required?.includes(name) ?? false,
    schema: s,
  }));
}

export function buildOpenApiDocument(operations: Operation[], info: { version: string; serverUrl: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const path = openApiPath(op.path);
    const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const status = op.spec.status ?? (op.method === 'post' ? 201 : 200);
    const success =
      op.spec.response === 'empty' || status === 204
        ? { description: reasonPhrase(status) }
        : op.spec.response === 'csv'
          ? { description: 'CSV or JSON', content: { 'text/csv': { schema: { type: 'string' } }, 'application/json': { schema: {} } } }
          : { description: reasonPhrase(status), content: { 'application/json': { schema: op.spec.response ? strip(jsonSchema(op.spec.response, 'output')) : {} } } };
    const responses: Record<string, unknown> = { [String(status)]: success };
    for (const s of [400, 401, 403, 404, 409, 429]) responses[String(s)] = errorResponse(s);
    // A body sent as anything but JSON (see api-router.ts).
    if (op.spec.body) responses['415'] = errorResponse(415);
    paths[path] ??= {};
    paths[path][op.method] = {
      operationId: `${op.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: op.spec.summary,
      description: op.spec.description ?? (op.spec.scopes ? `Scopes (any of): ${op.spec.scopes.join(', ')}.` : undefined),
      tags: [op.spec.tag],
      security: op.spec.auth === 'session' ? [{ session: [] }] : [{ apiKey: op.spec.scopes ?? [] }],
      parameters: [...pathParams, ...(op.spec.query ? queryParameters(op.spec.query) : [])],
      ...(op.spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: strip(jsonSchema(op.spec.body, 'input')) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'orgsync management API', version: info.version, description: 'Organizations, members, connections, directories, sync reports, audit log and events.' },
    servers: [{ url: `${info.serverUrl}/api/v1` }],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An orgsync API key (`osk_…`) with the scopes the operation lists.' },
        session: { type: 'apiKey', in: 'cookie', name: 'orgsync.sid' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['statusCode', 'error', 'message', 'errorCode'],
          properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' }, errorCode: { type: 'string' } },
        },
      },
    },
    paths,
  };
}
