import type { Container } from '../../container.js';
import { dialectOf, selectArrays, selectRows, selectTextRows } from '../../platform/db.js';
import type { JsonObject } from './coerce.js';
import { invalidValue } from './errors.js';
import { compileFilter, sortExpression, type Binding, type CompileContext } from './filter/compile.js';
import { parseAttrRef, parseFilter } from './filter/parser.js';
import { GROUP_SQL, USER_SQL } from './filter/sql-spec.js';
import { GROUP_TYPE, USER_TYPE } from './resource-types.js';
import { parseProjection, project, wants } from './projection.js';
import type { ScimContext } from './context.js';
import { USER_VIEW_COLUMNS, groupsColumnSql, groupsOfUsers, sortGroups, type UserViewRow } from './user-queries.js';
import { GROUP_VIEW_COLUMNS, membersOfGroups, type GroupViewRow } from './group-queries.js';
import { userResource, userTextWriter } from './user-view.js';
import { JsonText } from './json-text.js';
import { groupResource } from './group-view.js';
import { keptCountSql } from '../directories/queries.js';

export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const MAX_COUNT = 1000;
export const DEFAULT_COUNT = 100;
/** Unfiltered pages up to this size may be read off the request thread (see listResources). */
const SMALL_PAGE = 10;

/** RFC 7644 §3.4.2 ListResponse; resources are objects, or text spliced in as it stands (see JsonText). */
export interface ListResponse {
  schemas: string[];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: Array<JsonObject | JsonText>;
}

export interface ListQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
  sortBy?: string;
  sortOrder?: string;
  attributes?: string;
  excludedAttributes?: string;
}

export function pageNumber(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d{1,9}$/.test(raw.trim())) throw invalidValue(`${name} must be an integer.`);
  return Number(raw);
}

/**
 * GET /Users and /Groups: filter, sort and page in SQL, rows rendered directly. `totalResults` comes
 * from the page itself when it is the whole answer, from the directory's kept count when there is no
 * filter, and from a COUNT otherwise, so no request ever loads every row.
 */
export async function listResources(c: Container, ctx: ScimContext, kind: 'User' | 'Group', query: ListQuery): Promise<ListResponse> {
  const type = kind === 'User' ? USER_TYPE : GROUP_TYPE;
  const spec = kind === 'User' ? USER_SQL : GROUP_SQL;
  const startIndex = Math.max(1, pageNumber(query.startIndex, 'startIndex', 1));
  const count = Math.min(MAX_COUNT, Math.max(0, pageNumber(query.count, 'count', DEFAULT_COUNT)));
  const projection = parseProjection(type, query.attributes, query.excludedAttributes);
  const cctx: CompileContext = { type, spec, dialect: dialectOf(c.db), directoryId: ctx.directoryId };
  const where = query.filter !== undefined && query.filter.trim() !== '' ? compileFilter(cctx, parseFilter(query.filter)) : null;
  const descending = query.sortOrder?.toLowerCase() === 'descending';
  const sort = query.sortBy ? sortExpression(cctx, parseAttrRef(query.sortBy)) : null;

  // One SQL string per request shape (the statement is prepared once and reused on SQLite).
  // With several clients at once, reads may leave the request thread (SQLite: the background
  // connection), but not a page of many rows: copying its rows between threads costs more CPU than
  // reading them here (measured for 100 users: about half as much again per request).
  const read = { offThread: ctx.concurrent === true && (where !== null || count <= SMALL_PAGE) };
  const t = `"${spec.table}"`;
  let from = `FROM ${t} WHERE ${t}."directory_id" = ?`;
  const fromBindings: Binding[] = [ctx.directoryId];
  if (where) {
    from += ` AND (${where.sql})`;
    fromBindings.push(...where.bindings);
  }
  let rows: Array<(UserViewRow | GroupViewRow) & { kept_total?: number | string }> = [];
  // Whole users (no `attributes`/`excludedAttributes`) are written as text from their stored text.
  const asText = kind === 'User' && projection.include === null && projection.exclude.length === 0;
  const withGroups = kind === 'User' && wants(projection, 'groups');
  // Users' groups: a column of the page's statement, except for a PostgreSQL page of more than a
  // few users without a filter, which reads them with a second statement (see groupsColumnSql). A
  // filter (a `userName eq` lookup) mostly finds one user or none: its subquery runs once, where a
  // second statement would cost a round trip.
  const inlineGroups = withGroups && (cctx.dialect === 'sqlite' || where !== null || count <= SMALL_PAGE);
  const kept = keptCountSql(cctx.dialect, kind === 'User' ? 'user' : 'group');
  if (count > 0) {
    // Expressions, each with its name.
    const columns: Array<[string, string]> = (kind === 'User' ? USER_VIEW_COLUMNS : GROUP_VIEW_COLUMNS).map((col) => [`${t}."${col}"`, col]);
    if (inlineGroups) columns.push([groupsColumnSql(cctx.dialect), 'groups_json']);
    const selectBindings: Binding[] = [];
    if (!where) {
      // Without a filter a full page's totalResults is the directory's kept count: it comes with the
      // page (one statement, not two).
      columns.push([`(${kept})`, 'kept_total']);
      selectBindings.push(ctx.directoryId);
    }
    const dir = descending ? 'DESC' : 'ASC';
    const order = `${t}."created_at" ${dir}, ${t}."id" ${dir}`;
    const tail = `${from} ORDER BY ${sort ? `(${sort.sql}) IS NULL, ${sort.sql} ${dir}, ` : ''}${order} LIMIT ? OFFSET ?`;
    const sql = `SELECT ${columns.map(([e, name]) => `${e} AS "${name}"`).join(', ')} ${tail}`;
    const bindings = sort ? [...selectBindings, ...fromBindings, ...sort.bindings, ...sort.bindings, count, startIndex - 1] : [...selectBindings, ...fromBindings, count, startIndex - 1];
    if (kind === 'User') {
      // Users come as arrays of values (no object per row from the driver), named here.
      const at = { groups: inlineGroups ? USER_VIEW_COLUMNS.length : -1, kept: where ? -1 : USER_VIEW_COLUMNS.length + (inlineGroups ? 1 : 0) };
      // A SQLite page without filter or sortBy comes as one text (see selectTextRows), off the
      // request thread when several clients ask at once.
      const texts = cctx.dialect === 'sqlite' && !where && !sort ? await selectTextRows(c.db, columns.map(([e]) => e), tail, bindings, { offThread: ctx.concurrent === true }) : undefined;
      if (texts && inOrder(texts, descending)) rows = texts.map((a) => userRow(a, at));
      else rows = (await selectArrays<unknown[]>(c.db, sql, bindings, read)).map((a) => userRow(a, at));
    } else rows = await selectRows(c.db, sql, bindings, read);
  }
  let total: number;
  if (rows.length > 0 && rows.length < count) total = startIndex - 1 + rows.length;
  else if (rows.length === 0 && startIndex === 1 && count > 0) total = 0;
  else if (!where) {
    const n = rows[0]?.kept_total ?? (await selectRows<{ n: number | string }>(c.db, kept, [ctx.directoryId], read))[0]?.n;
    total = Number(n ?? 0);
  } else {
    const r = await selectRows<{ n: number | string }>(c.db, `SELECT count(*) AS "n" ${from}`, fromBindings, read);
    total = Number(r[0]?.n ?? 0);
  }

  let resources: Array<JsonObject | JsonText>;
  let groupsOf: (r: UserViewRow & GroupsJson) => Array<{ id: string; display: string }> | undefined = groupsIn;
  if (withGroups && !inlineGroups && rows.length > 0) {
    const byUser = await groupsOfUsers(c.db, ctx.directoryId, rows.map((r) => r.id));
    groupsOf = (r) => byUser.get(r.id);
  } else if (inlineGroups) {
    groupsOf = (r) => {
      const groups = groupsIn(r);
      return groups && sortGroups(groups);
    };
  }
  if (asText) {
    const write = userTextWriter(ctx.baseUrl);
    resources = (rows as Array<UserViewRow & GroupsJson>).map((r) => new JsonText(write(r, groupsOf(r))));
  } else if (kind === 'User') {
    resources = (rows as Array<UserViewRow & GroupsJson>).map((r) => project(userResource(r, ctx.baseUrl, groupsOf(r)), projection));
  } else {
    const ids = rows.map((r) => r.id);
    // excludedAttributes=members (Entra) never touches the member table.
    const members = wants(projection, 'members') && ids.length ? await membersOfGroups(c.db, ctx.directoryId, ids) : undefined;
    resources = (rows as GroupViewRow[]).map((r) => project(groupResource(r, ctx.baseUrl, members ? (members.get(r.id) ?? []) : undefined), projection));
  }
  return { schemas: [LIST_SCHEMA], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}

interface GroupsJson {
  groups_json?: string | null;
}
/** The groups column (groupsColumnSql) as it came: undefined for none. */
const groupsIn = (r: GroupsJson): Array<{ id: string; display: string }> | undefined =>
  r.groups_json && r.groups_json !== '[]' ? (JSON.parse(r.groups_json) as Array<{ id: string; display: string }>) : undefined;

const CREATED = USER_VIEW_COLUMNS.indexOf('created_at');
const ID = USER_VIEW_COLUMNS.indexOf('id');

/** Whether user rows (view columns first) come in the page's order, `created_at` then `id`. */
function inOrder(rows: string[][], descending: boolean): boolean {
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = descending ? [rows[i]!, rows[i - 1]!] : [rows[i - 1]!, rows[i]!];
    if (a[CREATED]! > b[CREATED]! || (a[CREATED] === b[CREATED] && a[ID]! >= b[ID]!)) return false;
  }
  return true;
}

/** A user row from its array of values: the view columns in order, then groups and the kept count where selected. */
function userRow(a: unknown[], at: { groups: number; kept: number }): UserViewRow & { groups_json?: string; kept_total?: number | string } {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < USER_VIEW_COLUMNS.length; i++) row[USER_VIEW_COLUMNS[i]!] = a[i];
  // Read as text (selectTextRows), the version is its digits.
  if (typeof row.version === 'string') row.version = Number(row.version);
  if (at.groups >= 0) row.groups_json = a[at.groups];
  if (at.kept >= 0) row.kept_total = a[at.kept];
  return row as unknown as UserViewRow & { groups_json?: string; kept_total?: number | string };
}
