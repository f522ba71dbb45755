import { parseJson } from '../../platform/db.js';
import type { JsonObject } from './coerce.js';
import { GROUP_SCHEMA } from './schema/group-schema.js';
import type { GroupViewRow } from './group-queries.js';
import { etagOf } from './user-view.js';

/** The SCIM Group as returned; `members` only when they were loaded (never for excludedAttributes=members). */
export function groupResource(row: GroupViewRow, baseUrl: string, members?: Array<{ value: string; display: string | null }>): JsonObject {
  const data = parseJson<JsonObject>(row.data, {});
  const out: JsonObject = { schemas: [GROUP_SCHEMA], id: row.id };
  if (row.external_id) out.externalId = row.external_id;
  out.displayName = row.display_name;
  for (const [k, v] of Object.entries(data)) if (k !== 'displayName' && k !== 'externalId') out[k] = v;
  if (members) {
    out.members = members.map((m) => {
      const entry: JsonObject = { value: m.value, $ref: `${baseUrl}/Users/${m.value}`, type: 'User' };
      if (m.display) entry.display = m.display;
      return entry;
    });
  }
  out.meta = { resourceType: 'Group', created: row.created_at, lastModified: row.updated_at, location: `${baseUrl}/Groups/${row.id}`, version: etagOf(row.version) };
  return out;
}
