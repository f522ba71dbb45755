import type { JsonObject } from './coerce.js';
import type { SchemaDef } from './schema/attributes.js';
import { resourceNotFound } from './errors.js';
import { GROUP_TYPE, USER_TYPE, type ResourceType } from './resource-types.js';
import { LIST_SCHEMA, MAX_COUNT } from './list.js';
import { RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA } from './schema/discovery-schemas.js';

export const BULK_MAX_OPERATIONS = 1000;
export const MAX_PAYLOAD_BYTES = 1024 * 1024;

const SPC_SCHEMA = SERVICE_PROVIDER_CONFIG_SCHEMA.id;
const RT_SCHEMA = RESOURCE_TYPE_SCHEMA.id;

const meta = (baseUrl: string, resourceType: string, path: string) => ({ resourceType, location: `${baseUrl}${path}` });

export function serviceProviderConfig(baseUrl: string): JsonObject {
  return {
    schemas: [SPC_SCHEMA],
    documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
    patch: { supported: true },
    bulk: { supported: true, maxOperations: BULK_MAX_OPERATIONS, maxPayloadSize: MAX_PAYLOAD_BYTES },
    filter: { supported: true, maxResults: MAX_COUNT },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'Bearer token', description: 'The directory token issued by orgsync (Authorization: Bearer …).', primary: true },
    ],
    meta: meta(baseUrl, 'ServiceProviderConfig', '/ServiceProviderConfig'),
  };
}

function resourceType(baseUrl: string, t: ResourceType): JsonObject {
  return {
    schemas: [RT_SCHEMA],
    id: t.name,
    name: t.name,
    endpoint: t.endpoint,
    description: t.schema.description,
    schema: t.schema.id,
    schemaExtensions: t.extensions.map((e) => ({ schema: e.id, required: false })),
    meta: meta(baseUrl, 'ResourceType', `/ResourceTypes/${t.name}`),
  };
}

function schema(baseUrl: string, s: SchemaDef): JsonObject {
  return { schemas: [SCHEMA_SCHEMA.id], id: s.id, name: s.name, description: s.description, attributes: JSON.parse(JSON.stringify(s.attributes)), meta: meta(baseUrl, 'Schema', `/Schemas/${s.id}`) };
}

const list = (items: JsonObject[]) => ({ schemas: [LIST_SCHEMA], totalResults: items.length, startIndex: 1, itemsPerPage: items.length, Resources: items });

const TYPES = [USER_TYPE, GROUP_TYPE];
// Every resource this server returns is described, discovery resources included (RFC 7643 §7).
const SCHEMAS = [USER_TYPE.schema, ...USER_TYPE.extensions, GROUP_TYPE.schema, SERVICE_PROVIDER_CONFIG_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA];

export function resourceTypes(baseUrl: string, id?: string): JsonObject {
  if (id === undefined) return list(TYPES.map((t) => resourceType(baseUrl, t)));
  const t = TYPES.find((x) => x.name.toLowerCase() === id.toLowerCase());
  if (!t) throw resourceNotFound('ResourceType', id);
  return resourceType(baseUrl, t);
}

export function schemas(baseUrl: string, id?: string): JsonObject {
  if (id === undefined) return list(SCHEMAS.map((s) => schema(baseUrl, s)));
  const s = SCHEMAS.find((x) => x.id.toLowerCase() === id.toLowerCase());
  if (!s) throw resourceNotFound('Schema', id);
  return schema(baseUrl, s);
}
