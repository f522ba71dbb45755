import { findAttribute, type AttributeDef } from './schema/attributes.js';
import { invalidValue } from './errors.js';
import { extensionNamed, type ResourceType } from './resource-types.js';
import { parseAttrRef } from './filter/parser.js';
import { invalidPath } from './errors.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Turns what a client sent for one attribute into its canonical stored form, accepting the shapes
 * real IdPs send: string booleans ("True"), a bare value for a complex attribute with a `value`
 * sub-attribute (Entra's `manager: "id"`), a one-element array for a single-valued complex attribute
 * (`manager: [{value}]`), and `null` meaning "absent". Unknown sub-attributes are dropped.
 * Returns undefined when nothing remains.
 */
export function coerceValue(value: unknown, def: AttributeDef, label = def.name): Json | undefined {
  if (value === null || value === undefined) return undefined;
  if (def.multiValued) {
    const items = (Array.isArray(value) ? value : [value]).map((v) => coerceSingle(v, def, label)).filter((v) => v !== undefined);
    if (def.type === 'complex') keepOnePrimary(items as JsonObject[]);
    return items.length ? items : undefined;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    if (value.length === 1) return coerceSingle(value[0], def, label);
    throw invalidValue(`${label} takes a single value.`);
  }
  return coerceSingle(value, def, label);
}

function coerceSingle(value: unknown, def: AttributeDef, label: string): Json | undefined {
  if (value === null || value === undefined) return undefined;
  switch (def.type) {
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw invalidValue(`${label} must be a boolean.`);
    }
    case 'integer':
    case 'decimal': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n === 'number' && Number.isFinite(n) && (def.type === 'decimal' || Number.isInteger(n))) return n;
      throw invalidValue(`${label} must be a number.`);
    }
    case 'complex': {
      if (!isObject(value)) {
        const valueSub = findAttribute(def.subAttributes, 'value');
        if (valueSub && !Array.isArray(value)) return coerceComplex({ value }, def, label);
        throw invalidValue(`${label} must be an object.`);
      }
      return coerceComplex(value, def, label);
    }
    case 'dateTime': {
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw invalidValue(`${label} must be a dateTime.`);
      return value;
    }
    default: {
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw invalidValue(`${label} must be a string.`);
    }
  }
}

function coerceComplex(value: Record<string, unknown>, def: AttributeDef, label: string): JsonObject | undefined {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    const sub = findAttribute(def.subAttributes, k);
    if (!sub) continue;
    const c = coerceValue(v, sub, `${label}.${sub.name}`);
    if (c !== undefined) out[sub.name] = c;
  }
  return Object.keys(out).length ? out : undefined;
}

/** RFC 7643 §2.4: at most one `primary: true`; the first one wins. */
function keepOnePrimary(items: JsonObject[]): void {
  let seen = false;
  for (const item of items) {
    if (item.primary === true) {
      if (seen) item.primary = false;
      seen = true;
    }
  }
}

/**
 * Canonical stored form of a whole resource: known attributes under their canonical names, extension
 * attributes under their URN, read-only and write-only attributes (`id`, `meta`, `groups`, `password`)
 * and unknown attributes dropped. Attribute names match case-insensitively.
 */
export function coerceResource(input: unknown, type: ResourceType, skip: ReadonlySet<string> = new Set()): JsonObject {
  if (!isObject(input)) throw invalidValue(`The request body must be a ${type.name} object.`);
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(input)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas' || lower === 'id' || lower === 'meta') continue;
    const extension = extensionNamed(type, key);
    if (extension) {
      if (value === null || value === undefined) continue;
      if (!isObject(value)) throw invalidValue(`${extension.id} must be an object.`);
      const ext = (out[extension.id] as JsonObject | undefined) ?? {};
      for (const [ek, ev] of Object.entries(value)) {
        const def = findAttribute(extension.attributes, ek);
        if (!def || def.mutability === 'readOnly') continue;
        const c = coerceValue(ev, def);
        if (c !== undefined) ext[def.name] = c;
      }
      if (Object.keys(ext).length) out[extension.id] = ext;
      continue;
    }
    if (lower === 'externalid') {
      const c = coerceValue(value, { ...commonString, name: 'externalId' });
      if (c !== undefined) out.externalId = c;
      continue;
    }
    if (lower.startsWith('urn:') && key.includes(':')) {
      // `urn:…:User:department` as a key: an extension attribute addressed by its full path.
      const ref = parseAttrRef(key, invalidPath);
      const extension2 = ref.uri ? extensionNamed(type, ref.uri) : undefined;
      const def = extension2 ? findAttribute(extension2.attributes, ref.attr) : undefined;
      if (!extension2 || !def || ref.sub || def.mutability === 'readOnly') continue;
      const c = coerceValue(value, def);
      if (c !== undefined) out[extension2.id] = { ...((out[extension2.id] as JsonObject | undefined) ?? {}), [def.name]: c };
      continue;
    }
    const def = findAttribute(type.schema.attributes, key);
    if (!def || def.mutability === 'readOnly' || def.mutability === 'writeOnly' || skip.has(def.name)) continue;
    const c = coerceValue(value, def);
    if (c !== undefined) out[def.name] = c;
  }
  return out;
}

const commonString: AttributeDef = {
  name: 'externalId',
  type: 'string',
  multiValued: false,
  description: '',
  required: false,
  caseExact: true,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
};
