import { parseJson, toBool } from '../../platform/db.js';
import type { JsonObject } from './coerce.js';
import { invalidValue } from './errors.js';
import type { GlobalUserFields } from './linking.js';
import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA } from './schema/user-schema.js';
import type { EmailRow, UserViewRow } from './user-queries.js';

export const etagOf = (version: number | string): string => `W/"${version}"`;

/** The SCIM User as returned: built straight from the row (no per-item schema objects: lists stay cheap). */
export function userResource(row: UserViewRow, baseUrl: string, groups?: Array<{ id: string; display: string }>): JsonObject {
  const data = parseJson<JsonObject>(row.data, {});
  const out: JsonObject = { schemas: data[ENTERPRISE_USER_SCHEMA] ? [USER_SCHEMA, ENTERPRISE_USER_SCHEMA] : [USER_SCHEMA], id: row.id };
  for (const [k, v] of Object.entries(data)) out[k] = v;
  out.active = toBool(row.active);
  if (groups?.length) out.groups = groups.map((g) => ({ value: g.id, $ref: `${baseUrl}/Groups/${g.id}`, display: g.display, type: 'direct' }));
  out.meta = { resourceType: 'User', created: row.created_at, lastModified: row.updated_at, location: `${baseUrl}/Users/${row.id}`, version: etagOf(row.version) };
  return out;
}

const CORE_SCHEMAS = JSON.stringify([USER_SCHEMA]);
const BOTH_SCHEMAS = JSON.stringify([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
const ENTERPRISE_KEY = `${JSON.stringify(ENTERPRISE_USER_SCHEMA)}:`;
/**
 * Stored keys that are not copied through as they stand: keys the view writes itself (`schemas`,
 * `id`, `meta`, `groups`), `__proto__`, and integer-like keys (an object puts those first, so
 * parsing and serialising again would reorder them). Only a key is followed by `:` (a quote inside a
 * string value is escaped); a key that merely ends like one (`"a\"id":`) matches too, which only
 * sends that row down the parsing path.
 */
const REWRITTEN_KEY = /"(?:schemas|id|meta|groups|__proto__|\d+)"\s*:/;
/** Ids and timestamps as orgsync writes them need no JSON escaping. */
const PLAIN = /^[\w:.+-]*$/;
const quoted = (v: unknown): string => (typeof v === 'string' && PLAIN.test(v) ? `"${v}"` : JSON.stringify(v));

/**
 * Writes users as `JSON.stringify(userResource(row, baseUrl, groups))` would, without parsing the
 * stored `data`: its text goes between the resource's `schemas`/`id` and its `groups`/`meta` (for a
 * page of 100 users, parsing and serialising them again was most of the request's CPU time).
 *
 * That is exact for what the writers store (`JSON.stringify` of a coerced resource: no whitespace,
 * canonical numbers) when `active` is absent (the column's value is appended, as `userResource`
 * appends it) or stored once with the column's value, in place. No sub-attribute of the User schema
 * or its extension is named `active`, `schemas`, `id`, `meta` or `groups` (a test pins this), so such
 * a key in the text is a top-level one. Any other row is parsed and serialised as before.
 */
export function userTextWriter(baseUrl: string): (row: UserViewRow, groups?: Array<{ id: string; display: string }>) => string {
  const base = JSON.stringify(baseUrl).slice(1, -1);
  const slow = (row: UserViewRow, groups?: Array<{ id: string; display: string }>) => JSON.stringify(userResource(row, baseUrl, groups));
  return (row, groups) => {
    const data = row.data;
    const active = toBool(row.active);
    if (typeof data !== 'string' || data.length < 2 || data.charCodeAt(0) !== 0x7b || data.charCodeAt(data.length - 1) !== 0x7d || REWRITTEN_KEY.test(data)) return slow(row, groups);
    let body: string;
    const at = data.indexOf('"active"');
    if (at < 0) body = data.length > 2 ? `${data.slice(1, -1)},"active":${active}` : `"active":${active}`;
    else {
      const end = at + 8 + (active ? 5 : 6);
      const next = data.charCodeAt(end);
      // Stored once, with the column's value, and the literal ends there.
      if (data.indexOf('"active"', at + 8) >= 0 || !data.startsWith(active ? ':true' : ':false', at + 8) || (next !== 0x2c && next !== 0x7d)) return slow(row, groups);
      body = data.slice(1, -1);
    }
    let schemas = CORE_SCHEMAS;
    const ext = data.indexOf(ENTERPRISE_KEY);
    if (ext >= 0) {
      // `userResource` lists the extension's schema when its value is truthy: an object here.
      if (data.charCodeAt(ext + ENTERPRISE_KEY.length) !== 0x7b) return slow(row, groups);
      schemas = BOTH_SCHEMAS;
    }
    const plainId = typeof row.id === 'string' && PLAIN.test(row.id);
    let out = `{"schemas":${schemas},"id":${plainId ? `"${row.id}"` : JSON.stringify(row.id)},${body}`;
    if (groups?.length) out += `,"groups":${JSON.stringify(groups.map((g) => ({ value: g.id, $ref: `${baseUrl}/Groups/${g.id}`, display: g.display, type: 'direct' })))}`;
    const location = plainId ? `"${base}/Users/${row.id}"` : JSON.stringify(`${baseUrl}/Users/${row.id}`);
    const version = typeof row.version === 'number' ? `"W/\\"${row.version}\\""` : JSON.stringify(etagOf(row.version));
    return `${out},"meta":{"resourceType":"User","created":${quoted(row.created_at)},"lastModified":${quoted(row.updated_at)},"location":${location},"version":${version}}}`;
  };
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export interface UserFields {
  userName: string;
  externalId: string | null;
  primaryEmail: string | null;
  displayName: string | null;
  active: boolean;
  emails: Array<{ value: string; type: string | null; primary: boolean }>;
}

/** The indexed columns and email rows derived from a stored User. */
export function userFields(data: JsonObject): UserFields {
  const userName = str(data.userName);
  if (!userName || !userName.trim()) throw invalidValue('userName is required.');
  const emails = (Array.isArray(data.emails) ? (data.emails as JsonObject[]) : [])
    .filter((e) => str(e.value))
    .map((e) => ({ value: e.value as string, type: str(e.type), primary: e.primary === true }));
  const primary = emails.find((e) => e.primary) ?? emails[0];
  return {
    userName,
    externalId: str(data.externalId),
    primaryEmail: primary?.value ?? null,
    displayName: str(data.displayName),
    active: data.active !== false,
    emails,
  };
}

/**
 * The `scim_users` columns a stored User is kept in (its text and what filters and lists read), the
 * same whether the user came by SCIM or from a pulled directory.
 */
export function storedColumns(data: JsonObject, f: UserFields) {
  return {
    user_name: f.userName,
    user_name_lower: f.userName.toLowerCase(),
    external_id: f.externalId,
    primary_email_lower: f.primaryEmail?.toLowerCase() ?? null,
    display_name_lower: f.displayName?.toLowerCase() ?? null,
    active: f.active,
    data: JSON.stringify(data),
  };
}

export function emailRows(scimUserId: string, directoryId: string, f: UserFields): EmailRow[] {
  return f.emails.map((e) => ({ scim_user_id: scimUserId, directory_id: directoryId, value_lower: e.value.toLowerCase(), type: e.type?.toLowerCase() ?? null, primary: e.primary }));
}

export function globalFields(data: JsonObject, f: UserFields): GlobalUserFields {
  const name = (data.name ?? {}) as JsonObject;
  const given = str(name.givenName);
  const family = str(name.familyName);
  return {
    externalId: f.externalId,
    userName: f.userName,
    primaryEmail: f.primaryEmail,
    name: f.displayName ?? str(name.formatted) ?? ([given, family].filter(Boolean).join(' ') || null),
    givenName: given,
    familyName: family,
    active: f.active,
  };
}
