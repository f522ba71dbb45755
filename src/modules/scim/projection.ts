import type { JsonObject } from './coerce.js';
import { invalidPath } from './errors.js';
import { parseAttrRef } from './filter/parser.js';
import { resolvePath, type ResolvedPath, type ResourceType } from './resource-types.js';

/** RFC 7644 §3.4.2.5 `attributes` / `excludedAttributes`, resolved once per request. */
export interface Projection {
  include: ResolvedPath[] | null;
  exclude: ResolvedPath[];
}

function parseList(type: ResourceType, raw: string | undefined): ResolvedPath[] | null {
  if (raw === undefined || raw.trim() === '') return null;
  if (raw.length > 2000) throw invalidPath('Attribute list is too long.');
  const out: ResolvedPath[] = [];
  for (const item of raw.split(',')) {
    const text = item.trim();
    if (!text) continue;
    const r = resolvePath(type, parseAttrRef(text, invalidPath));
    if (r) out.push(r); // unknown attributes are ignored, as in bodies
  }
  return out;
}

export function parseProjection(type: ResourceType, attributes?: string, excluded?: string): Projection {
  return { include: parseList(type, attributes), exclude: parseList(type, excluded) ?? [] };
}

/** Whether the projection returns this top-level attribute (so the caller may skip loading it). */
export function wants(p: Projection, attrName: string): boolean {
  if (p.include) return p.include.some((r) => !r.ext && r.attr.name === attrName);
  return !p.exclude.some((r) => !r.ext && r.attr.name === attrName && !r.sub);
}

const ALWAYS = new Set(['id', 'schemas']);

export function project(resource: JsonObject, p: Projection): JsonObject {
  if (!p.include && p.exclude.length === 0) return resource;
  let out: JsonObject;
  if (p.include) {
    out = {};
    for (const key of Object.keys(resource)) if (ALWAYS.has(key)) out[key] = resource[key]!;
    for (const r of p.include) copy(resource, out, r);
  } else out = structuredClone(resource);
  for (const r of p.exclude) remove(out, r);
  return out;
}

function copy(from: JsonObject, to: JsonObject, r: ResolvedPath): void {
  const src = r.ext ? (from[r.ext] as JsonObject | undefined) : from;
  if (!src || src[r.attr.name] === undefined) return;
  let dst = to;
  if (r.ext) dst = (to[r.ext] ??= {}) as JsonObject;
  const value = src[r.attr.name]!;
  if (!r.sub) {
    dst[r.attr.name] = value;
    return;
  }
  const sub = r.sub.name;
  if (Array.isArray(value)) {
    const prev = Array.isArray(dst[r.attr.name]) ? (dst[r.attr.name] as JsonObject[]) : value.map(() => ({}) as JsonObject);
    value.forEach((el, i) => {
      if (el && typeof el === 'object' && !Array.isArray(el) && (el as JsonObject)[sub] !== undefined) prev[i]![sub] = (el as JsonObject)[sub]!;
    });
    dst[r.attr.name] = prev;
  } else if (value && typeof value === 'object') {
    const prev = (dst[r.attr.name] ?? {}) as JsonObject;
    if ((value as JsonObject)[sub] !== undefined) prev[sub] = (value as JsonObject)[sub]!;
    dst[r.attr.name] = prev;
  }
}

function remove(obj: JsonObject, r: ResolvedPath): void {
  if (ALWAYS.has(r.attr.name)) return;
  const container = r.ext ? (obj[r.ext] as JsonObject | undefined) : obj;
  if (!container) return;
  if (!r.sub) delete container[r.attr.name];
  else {
    const v = container[r.attr.name];
    for (const el of Array.isArray(v) ? v : [v]) if (el && typeof el === 'object' && !Array.isArray(el)) delete (el as JsonObject)[r.sub.name];
  }
  if (r.ext && Object.keys(container).length === 0) delete obj[r.ext];
}
