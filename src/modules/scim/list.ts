import type { Container } from '../../container.js';
import { dialectOf } from '../../platform/db.js';
import type { JsonObject } from './coerce.js';
import { invalidValue } from './errors.js';
import { compileFilter, sortExpression, type CompileContext } from './filter/compile.js';
import { parseAttrRef, parseFilter } from './filter/parser.js';
import { GROUP_SQL, USER_SQL } from './filter/sql-spec.js';
import { GROUP_TYPE, USER_TYPE } from './resource-types.js';
import { parseProjection, project, wants } from './projection.js';
import type { ScimContext } from './context.js';
import { USER_VIEW_COLUMNS, groupsColumn, type UserViewRow } from './user-queries.js';
import { GROUP_VIEW_COLUMNS, membersOfGroups, type GroupViewRow } from './group-queries.js';
import { userResource } from './user-view.js';
import { groupResource } from './group-view.js';

export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const MAX_COUNT = 1000;
export const DEFAULT_COUNT = 100;

export interface ListQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
  sortBy?: string;
  sortOrder?: string;
  attributes?: string;
  excludedAttributes?: string;
}

function int(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d{1,9}$/.test(raw.trim())) throw invalidValue(`${name} must be an integer.`);
  return Number(raw);
}

/**
 * GET /Users and /Groups: filter, sort and page in SQL, rows rendered directly. `totalResults` comes
 * from the page itself when it is the whole answer, from the directory's kept count when there is no
 * filter, and from a COUNT otherwise, so no request ever loads every row.
 */
export async function listResources(c: Container, ctx: ScimContext, kind: 'User' | 'Group', query: ListQuery) {
  const type = kind === 'User' ? USER_TYPE : GROUP_TYPE;
  const spec = kind === 'User' ? USER_SQL : GROUP_SQL;
  const startIndex = Math.max(1, int(query.startIndex, 'startIndex', 1));
  const count = Math.min(MAX_COUNT, Math.max(0, int(query.count, 'count', DEFAULT_COUNT)));
  const projection = parseProjection(type, query.attributes, query.excludedAttributes);
  const cctx: CompileContext = { type, spec, dialect: dialectOf(c.db), directoryId: ctx.directoryId };
  const where = query.filter !== undefined && query.filter.trim() !== '' ? compileFilter(cctx, parseFilter(query.filter)) : null;
  const descending = query.sortOrder?.toLowerCase() === 'descending';
  const sort = query.sortBy ? sortExpression(cctx, parseAttrRef(query.sortBy)) : null;

  const base = () => {
    const b = c.db(spec.table).where(`${spec.table}.directory_id`, ctx.directoryId);
    if (where) b.whereRaw(where.sql, where.bindings);
    return b;
  };
  let rows: Array<UserViewRow | GroupViewRow> = [];
  const withGroups = kind === 'User' && wants(projection, 'groups');
  if (count > 0) {
    const page = base()
      .select(kind === 'User' ? USER_VIEW_COLUMNS.map((col) => `${spec.table}.${col}`) : GROUP_VIEW_COLUMNS)
      .limit(count)
      .offset(startIndex - 1);
    const dir = descending ? 'desc' : 'asc';
    if (sort) page.orderByRaw(`(${sort.sql}) IS NULL, ${sort.sql} ${dir}`, [...sort.bindings, ...sort.bindings]);
    page.orderBy([{ column: `${spec.table}.created_at`, order: dir }, { column: `${spec.table}.id`, order: dir }]);
    if (withGroups) page.select(groupsColumn(c.db));
    rows = await page;
  }
  let total: number;
  if (rows.length > 0 && rows.length < count) total = startIndex - 1 + rows.length;
  else if (rows.length === 0 && startIndex === 1 && count > 0) total = 0;
  else if (!where) {
    const d = await c.db('directories').where({ id: ctx.directoryId }).first<{ n: number | string } | undefined>(kind === 'User' ? 'scim_user_count as n' : 'scim_group_count as n');
    total = Number(d?.n ?? 0);
  } else {
    const r = await base().count<Array<{ n: number | string }>>({ n: '*' });
    total = Number(r[0]?.n ?? 0);
  }

  let resources: JsonObject[];
  if (kind === 'User') {
    resources = (rows as Array<UserViewRow & { groups_json?: string }>).map((r) =>
      project(userResource(r, ctx.baseUrl, r.groups_json ? (JSON.parse(r.groups_json) as Array<{ id: string; display: string }>) : undefined), projection),
    );
  } else {
    const ids = rows.map((r) => r.id);
    // excludedAttributes=members (Entra) never touches the member table.
    const members = wants(projection, 'members') && ids.length ? await membersOfGroups(c.db, ctx.directoryId, ids) : undefined;
    resources = (rows as GroupViewRow[]).map((r) => project(groupResource(r, ctx.baseUrl, members ? (members.get(r.id) ?? []) : undefined), projection));
  }
  return { schemas: [LIST_SCHEMA], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}
