import { findAttribute, type AttributeDef } from '../schema/attributes.js';
import { invalidFilter } from '../errors.js';
import type { Filter, FilterValue } from './ast.js';

type Element = Record<string, unknown>;

/** Evaluates a value filter (`emails[type eq "work"]`) against one element of a multi-valued attribute, in memory. */
export function matchesElement(f: Filter, element: Element, attr: AttributeDef): boolean {
  switch (f.kind) {
    case 'and':
      return matchesElement(f.left, element, attr) && matchesElement(f.right, element, attr);
    case 'or':
      return matchesElement(f.left, element, attr) || matchesElement(f.right, element, attr);
    case 'not':
      return !matchesElement(f.filter, element, attr);
    case 'valuePath':
      throw invalidFilter('Value filters cannot be nested.');
    default: {
      const def = findAttribute(attr.subAttributes, f.path.attr);
      if (!def || f.path.sub || f.path.uri) throw invalidFilter(`Unknown attribute "${attr.name}.${f.path.attr}".`);
      const actual = element[def.name];
      if (f.kind === 'present') return actual !== undefined && actual !== null && actual !== '';
      return compareValue(actual, f.op, f.value, def);
    }
  }
}

function compareValue(actual: unknown, op: string, expected: FilterValue, def: AttributeDef): boolean {
  if (expected === null) return op === 'eq' ? actual === undefined || actual === null : op === 'ne' ? actual !== undefined && actual !== null : false;
  if (actual === undefined || actual === null) return op === 'ne';
  if (typeof actual === 'boolean') {
    const b = typeof expected === 'boolean' ? expected : String(expected).toLowerCase() === 'true';
    return op === 'eq' ? actual === b : op === 'ne' ? actual !== b : false;
  }
  let a = String(actual);
  let e = String(expected);
  if (!def.caseExact) {
    a = a.toLowerCase();
    e = e.toLowerCase();
  }
  switch (op) {
    case 'eq':
      return a === e;
    case 'ne':
      return a !== e;
    case 'co':
      return a.includes(e);
    case 'sw':
      return a.startsWith(e);
    case 'ew':
      return a.endsWith(e);
    case 'gt':
      return a > e;
    case 'ge':
      return a >= e;
    case 'lt':
      return a < e;
    default:
      return a <= e;
  }
}

/** `type eq "work" and primary eq true` → `{type: "work", primary: true}`: the element a PATCH may create. */
export function equalities(f: Filter, attr: AttributeDef): Element | undefined {
  if (f.kind === 'and') {
    const l = equalities(f.left, attr);
    const r = equalities(f.right, attr);
    return l && r ? { ...l, ...r } : undefined;
  }
  if (f.kind !== 'compare' || f.op !== 'eq' || f.path.sub || f.path.uri) return undefined;
  const def = findAttribute(attr.subAttributes, f.path.attr);
  return def ? { [def.name]: f.value } : undefined;
}
