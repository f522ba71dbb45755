import { findAttribute, type AttributeDef, type SchemaDef } from './schema/attributes.js';
import { coerceValue, type Json, type JsonObject } from './coerce.js';
import { invalidPath, invalidValue, mutability, noTarget } from './errors.js';
import { equalities, matchesElement } from './filter/evaluate.js';
import { parsePatchPath, type PatchOp, type PatchOpName } from './patch-path.js';
import { extensionNamed, resolvePath, USER_TYPE, type ResourceType } from './resource-types.js';

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
const SKIP_KEYS = new Set(['schemas', 'id', 'meta']);

/**
 * Applies RFC 7644 §3.5.2 operations to a stored resource (a copy is returned). Accepts what IdPs
 * send: no path with a value object whose keys may themselves be paths (`name.givenName`, extension
 * URNs), a path that is a bare extension URN with an object of its attributes, value-filter paths
 * that create the missing entry (`emails[type eq "work"].value`), `null` meaning remove. Keys of a
 * value object that name no attribute, or a read-only one, are ignored as on create (Okta sends the
 * read-only `id`); an explicit `path` that names no attribute fails (`invalidPath`), and one that
 * names a read-only attribute fails (`mutability`).
 */
export function applyPatch(data: JsonObject, ops: PatchOp[], type: ResourceType): JsonObject {
  const doc = structuredClone(data);
  for (const op of ops) {
    const active = doc.active;
    applyOperation(doc, op, type);
    // Removing `active` (or setting it to null) leaves it as it was: an absent `active` would read as
    // true, and taking an attribute away must never give a deactivated user access back.
    if (type === USER_TYPE && typeof active === 'boolean' && typeof doc.active !== 'boolean') doc.active = active;
  }
  return doc;
}

function applyOperation(doc: JsonObject, op: PatchOp, type: ResourceType): void {
  const extension = op.path ? extensionNamed(type, op.path) : undefined;
  if (extension) return applyToExtension(doc, op, extension, type);
  // The core schema URN alone addresses the resource itself, like no path.
  if (op.path && op.path.toLowerCase() !== type.schema.id.toLowerCase()) return applyAt(doc, op.op, op.path, op.value, type, true);
  if (op.op === 'remove') throw noTarget('A remove operation needs a path.');
  if (!isObject(op.value)) throw invalidValue('An operation without a path needs an object value.');
  for (const [key, value] of Object.entries(op.value)) {
    if (SKIP_KEYS.has(key.toLowerCase())) continue;
    const ext = extensionNamed(type, key);
    if (ext && isObject(value)) {
      for (const [ek, ev] of Object.entries(value)) applyAt(doc, op.op, `${ext.id}:${ek}`, ev, type, false);
    } else applyAt(doc, op.op, key, value, type, false);
  }
}

/**
 * `"path": "urn:…:enterprise:2.0:User"`: add and replace take an object of the extension's
 * attributes (each applied as if addressed by its own path; attributes not given are kept, RFC 7644
 * §3.5.2.3); remove drops the whole extension, or only the attributes named by an object value.
 */
function applyToExtension(doc: JsonObject, op: PatchOp, extension: SchemaDef, type: ResourceType): void {
  // `null` means remove (Entra), as it does for any attribute.
  if (op.value === null || (op.op === 'remove' && op.value === undefined)) {
    delete doc[extension.id];
    return;
  }
  if (!isObject(op.value)) throw invalidValue(`${extension.id} takes an object of its attributes.`);
  for (const [key, value] of Object.entries(op.value)) {
    if (SKIP_KEYS.has(key.toLowerCase())) continue;
    applyAt(doc, op.op, `${extension.id}:${key}`, value, type, false);
  }
}

/** `explicit`: the client's own `path` (strict); otherwise a key of a value object (lenient, as bodies are). */
function applyAt(doc: JsonObject, op: PatchOpName, pathText: string, value: unknown, type: ResourceType, explicit: boolean): void {
  const path = parsePatchPath(pathText);
  const r = resolvePath(type, path.ref);
  if (!r) {
    if (explicit) throw invalidPath(`"${pathText}" names no attribute of a ${type.name}.`);
    return;
  }
  if (r.attr.mutability === 'readOnly' || r.sub?.mutability === 'readOnly' || r.attr.name === 'id' || r.attr.name === 'meta') {
    if (explicit) throw mutability(`${[r.attr.name, r.sub?.name].filter(Boolean).join('.')} is read-only.`);
    return;
  }
  let container = doc;
  if (r.ext) {
    if (!isObject(doc[r.ext])) doc[r.ext] = {};
    container = doc[r.ext] as JsonObject;
  }
  const { attr, sub } = r;
  const remove = op === 'remove' && !(attr.multiValued && value !== undefined && value !== null && !path.filter);
  if (path.filter) {
    if (!attr.multiValued || attr.type !== 'complex') throw noTarget(`${attr.name} is not a multi-valued attribute.`);
    applyFiltered(container, op, attr, path.filter, path.filterSub ?? sub?.name ?? null, value, explicit);
  } else if (attr.multiValued) {
    applyMulti(container, op, attr, sub, value);
  } else if (sub) {
    const current = isObject(container[attr.name]) ? (container[attr.name] as JsonObject) : {};
    const v = remove ? undefined : coerceValue(value, sub, `${attr.name}.${sub.name}`);
    if (v === undefined) delete current[sub.name];
    else current[sub.name] = v;
    setOrDelete(container, attr.name, Object.keys(current).length ? current : undefined);
  } else {
    const v = remove ? undefined : coerceValue(value, attr);
    // A complex value merges into the existing one: sub-attributes not given are kept (RFC 7644 §3.5.2.1/3).
    if (v !== undefined && attr.type === 'complex' && isObject(container[attr.name]) && isObject(v)) {
      container[attr.name] = { ...(container[attr.name] as JsonObject), ...v };
    } else setOrDelete(container, attr.name, v);
  }
  if (r.ext && Object.keys(container).length === 0) delete doc[r.ext];
}

function setOrDelete(container: JsonObject, key: string, v: Json | undefined): void {
  if (v === undefined) delete container[key];
  else container[key] = v;
}

const elementsOf = (container: JsonObject, attr: AttributeDef): JsonObject[] =>
  Array.isArray(container[attr.name]) ? (container[attr.name] as JsonObject[]).filter(isObject) : [];

const sameValue = (a: JsonObject, b: JsonObject): boolean =>
  String(a.value ?? '').toLowerCase() === String(b.value ?? '').toLowerCase() && (a.type ?? null) === (b.type ?? null);

function applyMulti(container: JsonObject, op: PatchOpName, attr: AttributeDef, sub: AttributeDef | null, value: unknown): void {
  const current = elementsOf(container, attr);
  if (sub) {
    // `emails.value` without a filter addresses every element; with none, one is created.
    const v = op === 'remove' ? undefined : coerceValue(value, sub, `${attr.name}.${sub.name}`);
    const targets = current.length || v === undefined ? current : [{} as JsonObject];
    for (const el of targets) setOrDelete(el, sub.name, v);
    finish(container, attr, targets.filter((el) => Object.keys(el).length));
    return;
  }
  const given = (coerceValue(value, attr) as JsonObject[] | undefined) ?? [];
  if (op === 'remove') {
    finish(container, attr, value === undefined || value === null ? [] : current.filter((el) => !given.some((g) => sameValue(el, g))));
  } else if (op === 'replace') {
    finish(container, attr, given);
  } else {
    if (given.some((g) => g.primary === true)) for (const el of current) if (el.primary === true) el.primary = false;
    const merged = [...current];
    for (const g of given) {
      const same = merged.findIndex((el) => sameValue(el, g));
      if (same >= 0) merged[same] = { ...merged[same], ...g };
      else merged.push(g);
    }
    finish(container, attr, merged);
  }
}

function applyFiltered(
  container: JsonObject,
  op: PatchOpName,
  attr: AttributeDef,
  filter: Parameters<typeof matchesElement>[0],
  subName: string | null,
  value: unknown,
  explicit: boolean,
): void {
  const current = elementsOf(container, attr);
  const matched = current.filter((el) => matchesElement(filter, el, attr));
  const sub = subName ? findAttribute(attr.subAttributes, subName) : undefined;
  if (subName && !sub) {
    if (explicit) throw invalidPath(`${attr.name} has no sub-attribute "${subName}".`);
    return;
  }
  if (sub?.mutability === 'readOnly' && explicit) throw mutability(`${attr.name}.${sub.name} is read-only.`);
  if (op === 'remove') {
    if (sub) {
      for (const el of matched) delete el[sub.name];
      // An email or phone entry without its value means nothing: drop it.
      finish(container, attr, current.filter((el) => !matched.includes(el) || Object.keys(el).some((k) => !['type', 'primary', 'display'].includes(k))));
    } else finish(container, attr, current.filter((el) => !matched.includes(el)));
    return;
  }
  const v = sub ? coerceValue(value, sub, `${attr.name}.${sub.name}`) : coerceValue(value, { ...attr, multiValued: false });
  if (v === undefined) {
    // `null` as the value: remove what the path names.
    applyFiltered(container, 'remove', attr, filter, subName, undefined, explicit);
    return;
  }
  if (matched.length === 0) {
    const seed = equalities(filter, attr);
    if (!seed) throw noTarget(`No ${attr.name} entry matches the path's filter.`);
    const created = sub ? { ...seed, [sub.name]: v } : { ...seed, ...(v as JsonObject) };
    finish(container, attr, [...current, coerceValue(created, { ...attr, multiValued: false }) as JsonObject]);
    return;
  }
  for (const el of matched) {
    if (sub) el[sub.name] = v;
    else Object.assign(el, v as JsonObject);
  }
  finish(container, attr, current);
}

function finish(container: JsonObject, attr: AttributeDef, items: JsonObject[]): void {
  setOrDelete(container, attr.name, items.length ? (coerceValue(items, attr) as Json) : undefined);
}
