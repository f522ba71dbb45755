import { findAttribute } from './schema/attributes.js';
import { coerceValue, type JsonObject } from './coerce.js';
import { invalidPath, invalidValue, mutability, noTarget } from './errors.js';
import { matchesElement } from './filter/evaluate.js';
import type { Filter } from './filter/ast.js';
import { parsePatchPath, type PatchOp } from './patch-path.js';
import { GROUP_TYPE, resolvePath } from './resource-types.js';
import { groupSchema } from './schema/group-schema.js';

const membersDef = findAttribute(groupSchema.attributes, 'members')!;
const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Member ids named by a `members` value: `[{value}]`, `{value}` or bare ids; `id: null` entries are skipped. */
export function memberIds(value: unknown): string[] {
  const items = (coerceValue(value, membersDef) as JsonObject[] | undefined) ?? [];
  return items.map((m) => m.value).filter((v): v is string => typeof v === 'string' && v !== '');
}

/**
 * What a group PATCH does, reduced to its net effect: new data, and member ids to add or remove.
 * Members are never loaded for adds and removals by id (cost follows the request, not the group);
 * only "replace all members" or a non-id member filter needs the current list (`loadMembers`).
 */
export interface GroupPatchPlan {
  data: JsonObject;
  add: Set<string>;
  remove: Set<string>;
  /** Set when the whole member list is replaced or cleared. */
  replaceAll: string[] | null;
  /** Filters over members that are not plain `value eq` lookups, evaluated against the current list. */
  removeWhere: Filter[];
}

export function planGroupPatch(current: JsonObject, ops: PatchOp[]): GroupPatchPlan {
  const plan: GroupPatchPlan = { data: structuredClone(current), add: new Set(), remove: new Set(), replaceAll: null, removeWhere: [] };
  const addIds = (ids: string[]) => {
    for (const id of ids) {
      plan.remove.delete(id);
      plan.add.add(id);
    }
  };
  const removeIds = (ids: string[]) => {
    for (const id of ids) {
      plan.add.delete(id);
      plan.remove.add(id);
    }
  };
  const setAll = (ids: string[]) => {
    plan.replaceAll = ids;
    plan.add.clear();
    plan.remove.clear();
    plan.removeWhere = [];
  };
  const setAttr = (name: string, value: unknown, remove: boolean) => {
    const def = findAttribute(groupSchema.attributes, name) ?? (name.toLowerCase() === 'externalid' ? { name: 'externalId' } : undefined);
    if (!def) return;
    if (def.name === 'displayName') {
      const v = remove ? undefined : coerceValue(value, findAttribute(groupSchema.attributes, 'displayName')!);
      if (typeof v !== 'string' || !v.trim()) throw invalidValue('displayName is required.');
      plan.data.displayName = v;
    } else if (def.name === 'externalId') {
      if (remove || value === null || value === undefined || value === '') delete plan.data.externalId;
      else plan.data.externalId = String(value);
    }
  };

  for (const op of ops) {
    // The core schema URN alone addresses the group itself, like no path.
    if (!op.path || op.path.toLowerCase() === groupSchema.id.toLowerCase()) {
      if (op.op === 'remove') throw noTarget('A remove operation needs a path.');
      if (!isObject(op.value)) throw invalidValue('An operation without a path needs an object value.');
      // Okta renames with the whole group, read-only `id` included: id and meta are ignored.
      for (const [key, value] of Object.entries(op.value)) {
        const lower = key.toLowerCase();
        if (lower === 'members') {
          if (op.op === 'replace') setAll(memberIds(value));
          else addIds(memberIds(value));
        } else if (lower !== 'id' && lower !== 'schemas' && lower !== 'meta') setAttr(key, value, false);
      }
      continue;
    }
    const path = parsePatchPath(op.path);
    const r = resolvePath(GROUP_TYPE, path.ref);
    if (!r) throw invalidPath(`"${op.path}" names no attribute of a Group.`);
    if (r.attr.mutability === 'readOnly') throw mutability(`${r.attr.name} is read-only.`);
    if (r.attr.name !== 'members') {
      setAttr(r.attr.name, op.value, op.op === 'remove');
      continue;
    }
    if (path.filter) {
      if (op.op !== 'remove') continue; // member entries have no writable sub-attributes
      const ids = valueEqualities(path.filter);
      if (ids) removeIds(ids);
      else plan.removeWhere.push(path.filter);
      continue;
    }
    if (op.op === 'add') addIds(memberIds(op.value));
    else if (op.op === 'replace') setAll(memberIds(op.value));
    else if (op.value === undefined || op.value === null) setAll([]);
    else removeIds(memberIds(op.value)); // Entra: remove by a value array
  }
  return plan;
}

/** `value eq "a"` or `value eq "a" or value eq "b"`: the ids, so removal needs no member scan. */
function valueEqualities(f: Filter): string[] | undefined {
  if (f.kind === 'or') {
    const l = valueEqualities(f.left);
    const r = valueEqualities(f.right);
    return l && r ? [...l, ...r] : undefined;
  }
  if (f.kind === 'compare' && f.op === 'eq' && !f.path.sub && !f.path.uri && f.path.attr.toLowerCase() === 'value' && typeof f.value === 'string') return [f.value];
  return undefined;
}

export const memberMatches = (f: Filter, member: { value: string; display: string | null }) =>
  matchesElement(f, { value: member.value, display: member.display ?? undefined, type: 'User' }, membersDef);
