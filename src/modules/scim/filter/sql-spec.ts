/** How a resource type's attributes map to SQL: indexed columns first, the JSON `data` column otherwise. */
export interface ColumnSpec {
  column: string;
  kind: 'string' | 'boolean' | 'dateTime';
  /** The column stores lower-cased values (caseExact: false attributes). */
  lowered: boolean;
}

export interface ChildSpec {
  table: string;
  /** Column of the child row holding the parent resource id. */
  fk: string;
  subs: Record<string, ColumnSpec>;
}

export interface SqlSpec {
  table: 'scim_users' | 'scim_groups';
  /** Keyed by lower-cased canonical path: `username`, `meta.created`. */
  columns: Record<string, ColumnSpec>;
  /** Multi-valued attributes with their own table, keyed by lower-cased attribute name. */
  children: Record<string, ChildSpec>;
  /** Attributes that live neither in a column nor in `data` (no JSON fallback possible). */
  noJson: ReadonlySet<string>;
}

const common = (): Record<string, ColumnSpec> => ({
  id: { column: 'id', kind: 'string', lowered: false },
  externalid: { column: 'external_id', kind: 'string', lowered: false },
  'meta.created': { column: 'created_at', kind: 'dateTime', lowered: false },
  'meta.lastmodified': { column: 'updated_at', kind: 'dateTime', lowered: false },
});

export const USER_SQL: SqlSpec = {
  table: 'scim_users',
  columns: {
    ...common(),
    username: { column: 'user_name_lower', kind: 'string', lowered: true },
    displayname: { column: 'display_name_lower', kind: 'string', lowered: true },
    active: { column: 'active', kind: 'boolean', lowered: false },
  },
  children: {
    emails: {
      table: 'scim_user_emails',
      fk: 'scim_user_id',
      subs: {
        value: { column: 'value_lower', kind: 'string', lowered: true },
        type: { column: 'type', kind: 'string', lowered: true },
        primary: { column: 'primary', kind: 'boolean', lowered: false },
      },
    },
  },
  noJson: new Set(['groups']),
};

export const GROUP_SQL: SqlSpec = {
  table: 'scim_groups',
  columns: { ...common(), displayname: { column: 'display_name_lower', kind: 'string', lowered: true } },
  children: {
    members: { table: 'scim_group_members', fk: 'group_id', subs: { value: { column: 'scim_user_id', kind: 'string', lowered: false } } },
  },
  noJson: new Set(['members']),
};
