import type { AttributeDef } from '../schema/attributes.js';
import { findAttribute } from '../schema/attributes.js';
import { invalidFilter } from '../errors.js';
import { resolvePath, type ResourceType } from '../resource-types.js';
import type { AttrRef, Filter, FilterValue } from './ast.js';
import type { ChildSpec, ColumnSpec, SqlSpec } from './sql-spec.js';

export type Binding = string | number | boolean | null;
export interface Fragment {
  sql: string;
  bindings: Binding[];
}

export interface CompileContext {
  type: ResourceType;
  spec: SqlSpec;
  dialect: 'sqlite' | 'pg';
  directoryId: string;
}

/** A value expression: SQL text, its bindings, and how its values are stored. */
interface Expr extends Fragment {
  kind: 'string' | 'boolean' | 'dateTime';
  lowered: boolean;
  caseExact: boolean;
  /** Booleans read out of JSON text on PostgreSQL compare as 'true'/'false'. */
  jsonBool: boolean;
}

const q = (id: string) => `"${id}"`;
/** The resource's JSON column as the dialect's JSON functions want it. */
const dataColumn = (ctx: CompileContext) => (ctx.dialect === 'pg' ? `(${q(ctx.spec.table)}.${q('data')})::jsonb` : `${q(ctx.spec.table)}.${q('data')}`);
const kindOf = (def: AttributeDef): Expr['kind'] => (def.type === 'boolean' ? 'boolean' : def.type === 'dateTime' ? 'dateTime' : 'string');

/** JSON path for a stored key sequence, bound as a parameter (never spliced into SQL). */
function jsonPath(ctx: CompileContext, keys: string[]): string {
  return ctx.dialect === 'sqlite' ? `$${keys.map((k) => `.${JSON.stringify(k)}`).join('')}` : `{${keys.map((k) => JSON.stringify(k)).join(',')}}`;
}

function jsonExpr(ctx: CompileContext, source: string, keys: string[], def: AttributeDef): Expr {
  const raw = ctx.dialect === 'sqlite' ? `json_extract(${source}, ?)` : `(${source} #>> ?::text[])`;
  const kind = kindOf(def);
  const lowered = kind === 'string' && !def.caseExact;
  return { sql: lowered ? `lower(${raw})` : raw, bindings: [jsonPath(ctx, keys)], kind, lowered, caseExact: def.caseExact, jsonBool: ctx.dialect === 'pg' };
}

const columnExpr = (alias: string, c: ColumnSpec, def: AttributeDef): Expr => ({
  sql: `${q(alias)}.${q(c.column)}`,
  bindings: [],
  kind: c.kind,
  lowered: c.lowered,
  caseExact: def.caseExact,
  jsonBool: false,
});

function compare(ctx: CompileContext, e: Expr, op: string, raw: FilterValue): Fragment {
  const X = e.sql;
  const B = e.bindings;
  if (raw === null) {
    if (op === 'eq') return { sql: `(${X} IS NULL)`, bindings: B };
    if (op === 'ne') return { sql: `(${X} IS NOT NULL)`, bindings: B };
    throw invalidFilter(`Operator ${op} cannot compare with null.`);
  }
  if (e.kind === 'boolean') {
    const b = typeof raw === 'boolean' ? raw : typeof raw === 'string' && /^(true|false)$/i.test(raw) ? raw.toLowerCase() === 'true' : undefined;
    if (b === undefined || (op !== 'eq' && op !== 'ne')) throw invalidFilter(`A boolean attribute supports eq and ne with true or false.`);
    const v: Binding = e.jsonBool ? String(b) : ctx.dialect === 'sqlite' ? (b ? 1 : 0) : b;
    return op === 'eq' ? { sql: `(${X} IS NOT NULL AND ${X} = ?)`, bindings: [...B, ...B, v] } : { sql: `(${X} IS NULL OR ${X} <> ?)`, bindings: [...B, ...B, v] };
  }
  if (typeof raw === 'boolean') throw invalidFilter('Cannot compare a string attribute with a boolean.');
  let v = String(raw);
  if (e.kind === 'dateTime') {
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw invalidFilter(`"${v}" is not a dateTime.`);
    if (op === 'co' || op === 'sw' || op === 'ew') throw invalidFilter(`Operator ${op} does not apply to dateTime attributes.`);
    v = new Date(t).toISOString();
  } else if (e.lowered) v = v.toLowerCase();
  const guard = (sql: string, bindings: Binding[]): Fragment => ({ sql: `(${X} IS NOT NULL AND ${sql})`, bindings: [...B, ...bindings] });
  const len = [...v].length;
  switch (op) {
    case 'eq':
      return guard(`${X} = ?`, [...B, v]);
    case 'ne':
      return { sql: `(${X} IS NULL OR ${X} <> ?)`, bindings: [...B, ...B, v] };
    case 'co':
      return guard(ctx.dialect === 'sqlite' ? `instr(${X}, ?) > 0` : `strpos(${X}, ?) > 0`, [...B, v]);
    case 'sw':
      return guard(`substr(${X}, 1, ?) = ?`, [...B, len, v]);
    case 'ew':
      if (len === 0) return guard('1 = 1', []);
      return guard(ctx.dialect === 'sqlite' ? `substr(${X}, -?) = ?` : `right(${X}, ?) = ?`, [...B, len, v]);
    default: {
      const sym = { gt: '>', ge: '>=', lt: '<', le: '<=' }[op as 'gt'];
      // Byte order on PostgreSQL too, so string ranges mean the same on both databases.
      const left = ctx.dialect === 'pg' ? `${X} COLLATE "C"` : X;
      return guard(`${left} ${sym} ?`, [...B, v]);
    }
  }
}

function present(e: Expr): Fragment {
  if (e.kind === 'string') return { sql: `(${e.sql} IS NOT NULL AND ${e.sql} <> '')`, bindings: [...e.bindings, ...e.bindings] };
  return { sql: `(${e.sql} IS NOT NULL)`, bindings: e.bindings };
}

const join = (op: 'AND' | 'OR', a: Fragment, b: Fragment): Fragment => ({ sql: `(${a.sql} ${op} ${b.sql})`, bindings: [...a.bindings, ...b.bindings] });

/** Compiles a filter into a WHERE fragment over `spec.table` (the caller scopes it to the directory). */
export function compileFilter(ctx: CompileContext, f: Filter): Fragment {
  switch (f.kind) {
    case 'and':
      return join('AND', compileFilter(ctx, f.left), compileFilter(ctx, f.right));
    case 'or':
      return join('OR', compileFilter(ctx, f.left), compileFilter(ctx, f.right));
    case 'not': {
      const inner = compileFilter(ctx, f.filter);
      return { sql: `(NOT ${inner.sql})`, bindings: inner.bindings };
    }
    case 'valuePath': {
      const r = resolve(ctx, f.path);
      if (!r.attr.multiValued || r.attr.type !== 'complex') throw invalidFilter(`${r.attr.name} is not a multi-valued attribute.`);
      return multi(ctx, r.ext, r.attr, f.filter);
    }
    default:
      return leaf(ctx, f);
  }
}

function resolve(ctx: CompileContext, ref: AttrRef) {
  const r = resolvePath(ctx.type, ref);
  if (!r) throw invalidFilter(`Unknown attribute "${[ref.uri, ref.attr].filter(Boolean).join(':')}${ref.sub ? `.${ref.sub}` : ''}".`);
  return r;
}

function leaf(ctx: CompileContext, f: Extract<Filter, { kind: 'compare' | 'present' }>): Fragment {
  const r = resolve(ctx, f.path);
  const { attr, sub } = r;
  if (attr.multiValued && attr.type === 'complex') {
    // `emails.value eq x`, `emails eq x` (the value sub-attribute), `emails pr` (any element).
    if (f.kind === 'present' && !sub) return multi(ctx, r.ext, attr, null);
    const subName = sub?.name ?? 'value';
    return multi(ctx, r.ext, attr, { ...f, path: { uri: null, attr: subName, sub: null } });
  }
  if (attr.name === 'meta' && sub?.name === 'resourceType') {
    const match = f.kind === 'present' || (f.op === 'eq' && String(f.value).toLowerCase() === ctx.type.name.toLowerCase());
    return { sql: match ? '(1 = 1)' : '(1 = 0)', bindings: [] };
  }
  if (attr.type === 'complex' && !sub) {
    if (f.kind !== 'present') throw invalidFilter(`${attr.name} is a complex attribute: compare one of its sub-attributes.`);
    return { sql: `(${jsonExpr(ctx, dataColumn(ctx), keysOf(r.ext, attr, null), attr).sql} IS NOT NULL)`, bindings: [jsonPath(ctx, keysOf(r.ext, attr, null))] };
  }
  const key = `${attr.name}${sub ? `.${sub.name}` : ''}`.toLowerCase();
  const column = r.ext ? undefined : ctx.spec.columns[key];
  const def = sub ?? attr;
  let e: Expr;
  if (column) e = columnExpr(ctx.spec.table, column, def);
  else {
    if (attr.name === 'meta' || ctx.spec.noJson.has(attr.name)) throw invalidFilter(`Filtering on ${key} is not supported.`);
    e = jsonExpr(ctx, dataColumn(ctx), keysOf(r.ext, attr, sub), def);
  }
  return f.kind === 'present' ? present(e) : compare(ctx, e, f.op, f.value);
}

const keysOf = (ext: string | null, attr: AttributeDef, sub: AttributeDef | null): string[] =>
  [ext, attr.name, sub?.name].filter((k): k is string => !!k);

/** Some element of a multi-valued attribute satisfies `element` (null: any element exists). */
function multi(ctx: CompileContext, ext: string | null, attr: AttributeDef, element: Filter | null): Fragment {
  const child: ChildSpec | undefined = ext ? undefined : ctx.spec.children[attr.name.toLowerCase()];
  const parent = `${q(ctx.spec.table)}.${q('id')}`;
  if (child && (!element || subsUsed(element).every((s) => child.subs[s.toLowerCase()]))) {
    const cond = element ? compileElement(ctx, attr, element, (def) => columnExpr('c', child.subs[def.name.toLowerCase()]!, def)) : { sql: '1 = 1', bindings: [] };
    return {
      sql: `(${parent} IN (SELECT ${q('c')}.${q(child.fk)} FROM ${q(child.table)} ${q('c')} WHERE ${q('c')}.${q('directory_id')} = ? AND ${cond.sql}))`,
      bindings: [ctx.directoryId, ...cond.bindings],
    };
  }
  if (ctx.spec.noJson.has(attr.name)) throw invalidFilter(`Filtering on ${attr.name} by ${element ? subsUsed(element).join(', ') : 'presence'} is not supported.`);
  const keys = keysOf(ext, attr, null);
  const cond = element ? compileElement(ctx, attr, element, (def) => jsonExpr(ctx, `${q('j')}.${q('value')}`, [def.name], def)) : { sql: '1 = 1', bindings: [] };
  const source =
    ctx.dialect === 'sqlite'
      ? `json_each(${q(ctx.spec.table)}.${q('data')}, ?) AS ${q('j')}`
      : `jsonb_array_elements(COALESCE(${dataColumn(ctx)} #> ?::text[], '[]'::jsonb)) AS ${q('j')}(${q('value')})`;
  return { sql: `(EXISTS (SELECT 1 FROM ${source} WHERE ${cond.sql}))`, bindings: [jsonPath(ctx, keys), ...cond.bindings] };
}

function subsUsed(f: Filter): string[] {
  switch (f.kind) {
    case 'and':
    case 'or':
      return [...subsUsed(f.left), ...subsUsed(f.right)];
    case 'not':
      return subsUsed(f.filter);
    case 'valuePath':
      return [f.path.attr];
    default:
      return [f.path.attr];
  }
}

function compileElement(ctx: CompileContext, attr: AttributeDef, f: Filter, exprOf: (def: AttributeDef) => Expr): Fragment {
  switch (f.kind) {
    case 'and':
      return join('AND', compileElement(ctx, attr, f.left, exprOf), compileElement(ctx, attr, f.right, exprOf));
    case 'or':
      return join('OR', compileElement(ctx, attr, f.left, exprOf), compileElement(ctx, attr, f.right, exprOf));
    case 'not': {
      const inner = compileElement(ctx, attr, f.filter, exprOf);
      return { sql: `(NOT ${inner.sql})`, bindings: inner.bindings };
    }
    case 'valuePath':
      throw invalidFilter('Value filters cannot be nested.');
    default: {
      if (f.path.uri || f.path.sub) throw invalidFilter(`Invalid sub-attribute path inside ${attr.name}[…].`);
      const def = findAttribute(attr.subAttributes, f.path.attr);
      if (!def) throw invalidFilter(`Unknown attribute "${attr.name}.${f.path.attr}".`);
      const e = exprOf(def);
      return f.kind === 'present' ? present(e) : compare(ctx, e, f.op, f.value);
    }
  }
}

/** ORDER BY expression for `sortBy` (multi-valued attributes sort by their primary value, RFC 7644 §3.4.2.3). */
export function sortExpression(ctx: CompileContext, ref: AttrRef): Fragment {
  const r = resolve(ctx, ref);
  const key = `${r.attr.name}${r.sub ? `.${r.sub.name}` : ''}`.toLowerCase();
  if (!r.ext && r.attr.name === 'emails' && ctx.spec.table === 'scim_users') return { sql: `${q(ctx.spec.table)}.${q('primary_email_lower')}`, bindings: [] };
  const column = r.ext ? undefined : ctx.spec.columns[key];
  if (column) return { sql: `${q(ctx.spec.table)}.${q(column.column)}`, bindings: [] };
  if ((r.attr.type === 'complex' && !r.sub) || r.attr.multiValued || ctx.spec.noJson.has(r.attr.name) || r.attr.name === 'meta') {
    throw invalidFilter(`Cannot sort by ${key}.`);
  }
  const e = jsonExpr(ctx, dataColumn(ctx), keysOf(r.ext, r.attr, r.sub), r.sub ?? r.attr);
  return { sql: e.sql, bindings: e.bindings };
}
