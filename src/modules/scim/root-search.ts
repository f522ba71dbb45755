import type { Container } from '../../container.js';
import type { ScimContext } from './context.js';
import type { AttrRef, Filter } from './filter/ast.js';
import { invalidFilter } from './errors.js';
import { parseAttrRef, parseFilter } from './filter/parser.js';
import { DEFAULT_COUNT, LIST_SCHEMA, MAX_COUNT, listResources, pageNumber, type ListQuery, type ListResponse } from './list.js';
import { GROUP_TYPE, USER_TYPE, resolvePath, type ResourceType } from './resource-types.js';

/**
 * A filter narrowed to one resource type: comparisons on attributes the type does not have are
 * false for it (a root query spans types whose schemas differ), and the result folds to `true`
 * (everything), `false` (nothing of this type) or a filter the type's own endpoint understands.
 */
export function narrowFilter(f: Filter, type: ResourceType): Filter | boolean {
  switch (f.kind) {
    case 'and': {
      const l = narrowFilter(f.left, type);
      const r = narrowFilter(f.right, type);
      if (l === false || r === false) return false;
      if (l === true) return r;
      if (r === true) return l;
      return l === f.left && r === f.right ? f : { kind: 'and', left: l, right: r };
    }
    case 'or': {
      const l = narrowFilter(f.left, type);
      const r = narrowFilter(f.right, type);
      if (l === true || r === true) return true;
      if (l === false) return r;
      if (r === false) return l;
      return l === f.left && r === f.right ? f : { kind: 'or', left: l, right: r };
    }
    case 'not': {
      const inner = narrowFilter(f.filter, type);
      if (typeof inner === 'boolean') return !inner;
      return inner === f.filter ? f : { kind: 'not', filter: inner };
    }
    default:
      return resolvePath(type, f.path) ? f : false;
  }
}

const refText = (p: AttrRef) => `${p.uri ? `${p.uri}:` : ''}${p.attr}${p.sub ? `.${p.sub}` : ''}`;

/** Back to filter text (values as JSON literals), for the type's own list endpoint to parse again. */
export function filterText(f: Filter): string {
  switch (f.kind) {
    case 'and':
    case 'or':
      return `(${filterText(f.left)}) ${f.kind} (${filterText(f.right)})`;
    case 'not':
      return `not (${filterText(f.filter)})`;
    case 'present':
      return `${refText(f.path)} pr`;
    case 'valuePath':
      return `${refText(f.path)}[${filterText(f.filter)}]`;
    case 'compare':
      return `${refText(f.path)} ${f.op} ${JSON.stringify(f.value)}`;
  }
}

function pathsOf(f: Filter): AttrRef[] {
  switch (f.kind) {
    case 'and':
    case 'or':
      return [...pathsOf(f.left), ...pathsOf(f.right)];
    case 'not':
      return pathsOf(f.filter);
    default:
      return [f.path];
  }
}

const TYPES = [USER_TYPE, GROUP_TYPE];

/**
 * RFC 7644 §3.4.2/§3.4.3: `GET /` and `POST /.search` across Users and Groups. Users come first,
 * then Groups, each in its own order (`sortBy` sorts within the types that have the attribute);
 * `startIndex`/`count` page over the whole sequence and `totalResults` is the sum. Each part is one
 * type's ordinary list query, so it stays in SQL and scoped to the directory.
 */
export async function searchRoot(c: Container, ctx: ScimContext, query: ListQuery): Promise<ListResponse> {
  const parsed = query.filter !== undefined && query.filter.trim() !== '' ? parseFilter(query.filter) : null;
  // An attribute no resource type has is an error, as it is on a type's own endpoint.
  const unknown = parsed ? pathsOf(parsed).find((p) => !TYPES.some((t) => resolvePath(t, p))) : undefined;
  if (unknown) throw invalidFilter(`Unknown attribute "${refText(unknown)}".`);
  const sortRef = query.sortBy ? parseAttrRef(query.sortBy) : null;
  const startIndex = Math.max(1, pageNumber(query.startIndex, 'startIndex', 1));
  const count = Math.min(MAX_COUNT, Math.max(0, pageNumber(query.count, 'count', DEFAULT_COUNT)));

  let skip = startIndex - 1;
  let left = count;
  let total = 0;
  const resources: ListResponse['Resources'] = [];
  for (const type of TYPES) {
    const narrowed = parsed ? narrowFilter(parsed, type) : true;
    if (narrowed === false) continue;
    const page = await listResources(c, ctx, type.name, {
      ...query,
      // Unchanged for this type: the client's own text (re-serialising adds parentheses).
      filter: narrowed === true ? undefined : narrowed === parsed ? query.filter : filterText(narrowed),
      sortBy: sortRef && resolvePath(type, sortRef) ? query.sortBy : undefined,
      startIndex: String(skip + 1),
      count: String(left),
    });
    total += page.totalResults;
    resources.push(...page.Resources);
    left -= page.Resources.length;
    skip = Math.max(0, skip - page.totalResults);
  }
  return { schemas: [LIST_SCHEMA], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}
