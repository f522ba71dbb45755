import { complex, findAttribute, str, type AttributeDef, type SchemaDef } from './schema/attributes.js';
import { enterpriseUserSchema, userSchema } from './schema/user-schema.js';
import { groupSchema } from './schema/group-schema.js';
import type { AttrRef } from './filter/ast.js';

export interface ResourceType {
  name: 'User' | 'Group';
  endpoint: '/Users' | '/Groups';
  schema: SchemaDef;
  extensions: SchemaDef[];
}

export const USER_TYPE: ResourceType = { name: 'User', endpoint: '/Users', schema: userSchema, extensions: [enterpriseUserSchema] };
export const GROUP_TYPE: ResourceType = { name: 'Group', endpoint: '/Groups', schema: groupSchema, extensions: [] };

/** RFC 7643 §3.1 common attributes, present on every resource. */
export const COMMON_ATTRIBUTES: AttributeDef[] = [
  str('id', 'Unique identifier assigned by the service provider.', { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
  str('externalId', 'Identifier assigned by the provisioning client.', { caseExact: true }),
  complex(
    'meta',
    'Resource metadata.',
    [
      str('resourceType', 'The name of the resource type.', { caseExact: true, mutability: 'readOnly' }),
      { ...str('created', 'When the resource was added.', { mutability: 'readOnly' }), type: 'dateTime' },
      { ...str('lastModified', 'When the resource was last changed.', { mutability: 'readOnly' }), type: 'dateTime' },
      str('location', 'The URI of the resource.', { caseExact: true, mutability: 'readOnly' }),
      str('version', 'The version (ETag) of the resource.', { caseExact: true, mutability: 'readOnly' }),
    ],
    { mutability: 'readOnly' },
  ),
];

/** Where an attribute path points: `ext` is the extension URN (null for core/common attributes). */
export interface ResolvedPath {
  ext: string | null;
  attr: AttributeDef;
  sub: AttributeDef | null;
}

/** Resolves `[uri:]attr[.sub]` against a resource type, case-insensitively; undefined when unknown. */
export function resolvePath(type: ResourceType, ref: AttrRef): ResolvedPath | undefined {
  let ext: string | null = null;
  let list: AttributeDef[];
  if (ref.uri) {
    const uri = ref.uri.toLowerCase();
    if (uri === type.schema.id.toLowerCase()) list = type.schema.attributes;
    else {
      const extension = type.extensions.find((e) => e.id.toLowerCase() === uri);
      if (!extension) return undefined;
      ext = extension.id;
      list = extension.attributes;
    }
  } else {
    list = type.schema.attributes;
  }
  const attr = findAttribute(list, ref.attr) ?? (ext ? undefined : findAttribute(COMMON_ATTRIBUTES, ref.attr));
  if (!attr) return undefined;
  if (!ref.sub) return { ext, attr, sub: null };
  const sub = findAttribute(attr.subAttributes, ref.sub);
  return sub ? { ext, attr, sub } : undefined;
}

/** The extension whose URN is exactly `key` (a body key holding the extension's attributes). */
export const extensionNamed = (type: ResourceType, key: string): SchemaDef | undefined =>
  type.extensions.find((e) => e.id.toLowerCase() === key.toLowerCase());
