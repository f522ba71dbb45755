import { invalidPath, invalidSyntax } from './errors.js';
import type { AttrRef, Filter } from './filter/ast.js';
import { parseAttrRef, parseFilter } from './filter/parser.js';
import { MAX_FILTER_LENGTH } from './filter/tokenizer.js';

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface PatchOp {
  op: PatchOpName;
  path: string | null;
  value: unknown;
}

/** `attr[.sub]`, `attr[filter][.sub]`, with an optional schema URN prefix. */
export interface PatchPath {
  ref: AttrRef;
  filter: Filter | null;
  /** The sub-attribute after a value filter: `emails[type eq "work"].value`. */
  filterSub: string | null;
}

export function parsePatchPath(text: string): PatchPath {
  if (text.length > MAX_FILTER_LENGTH) throw invalidPath('Path is too long.');
  const open = text.indexOf('[');
  if (open < 0) return { ref: parseAttrRef(text.trim(), invalidPath), filter: null, filterSub: null };
  const close = text.lastIndexOf(']');
  if (close < open) throw invalidPath(`Invalid path "${text}".`);
  const ref = parseAttrRef(text.slice(0, open).trim(), invalidPath);
  const rest = text.slice(close + 1);
  let filterSub: string | null = null;
  if (rest) {
    if (!rest.startsWith('.')) throw invalidPath(`Invalid path "${text}".`);
    const sub = parseAttrRef(rest.slice(1), invalidPath);
    if (sub.uri || sub.sub) throw invalidPath(`Invalid path "${text}".`);
    filterSub = sub.attr;
  }
  let filter: Filter;
  try {
    filter = parseFilter(text.slice(open + 1, close));
  } catch (err) {
    throw invalidPath(`Invalid value filter in path "${text}": ${(err as Error).message}`);
  }
  return { ref, filter, filterSub };
}

const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/**
 * Reads a PatchOp body as clients really send it: `schemas` may be missing (Entra), `Operations`
 * may be spelled in any case, and ops are capitalised (`Replace`).
 */
export function readPatchOps(body: unknown): PatchOp[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidSyntax('A PATCH body must be a PatchOp object.');
  const entries = Object.entries(body as Record<string, unknown>);
  const schemas = entries.find(([k]) => k.toLowerCase() === 'schemas')?.[1];
  if (Array.isArray(schemas) && schemas.length && !schemas.includes(PATCH_SCHEMA)) throw invalidSyntax(`schemas must include ${PATCH_SCHEMA}.`);
  const ops = entries.find(([k]) => k.toLowerCase() === 'operations')?.[1];
  if (!Array.isArray(ops) || ops.length === 0) throw invalidSyntax('Operations must be a non-empty array.');
  return ops.map((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalidSyntax(`Operations[${i}] must be an object.`);
    const o = Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
    const op = typeof o.op === 'string' ? o.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw invalidSyntax(`Operations[${i}].op must be add, replace or remove.`);
    const path = typeof o.path === 'string' && o.path.trim() !== '' ? o.path.trim() : null;
    if (o.path !== undefined && o.path !== null && typeof o.path !== 'string') throw invalidPath(`Operations[${i}].path must be a string.`);
    return { op, path, value: o.value };
  });
}
