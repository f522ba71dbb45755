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
