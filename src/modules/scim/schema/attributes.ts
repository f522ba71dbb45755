/** RFC 7643 §7 attribute definitions: served by /Schemas and used to coerce input, filter, sort and project. */
export interface AttributeDef {
  name: string;
  type: 'string' | 'boolean' | 'complex' | 'dateTime' | 'reference' | 'binary' | 'integer' | 'decimal';
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDef[];
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDef[];
}

type Opts = Partial<Omit<AttributeDef, 'name' | 'type' | 'subAttributes'>>;

const base = (name: string, type: AttributeDef['type'], description: string, o: Opts): AttributeDef => ({
  name,
  type,
  multiValued: false,
  description,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...o,
});

export const str = (name: string, description: string, o: Opts = {}) => base(name, 'string', description, o);
export const bool = (name: string, description: string, o: Opts = {}) => base(name, 'boolean', description, o);
export const ref = (name: string, description: string, referenceTypes: string[], o: Opts = {}) =>
  base(name, 'reference', description, { referenceTypes, caseExact: true, ...o });
export const complex = (name: string, description: string, subAttributes: AttributeDef[], o: Opts = {}): AttributeDef => ({
  ...base(name, 'complex', description, o),
  subAttributes,
});

/** The usual `value/display/type/primary` shape of a multi-valued attribute. */
export const multi = (name: string, description: string, value: AttributeDef, types: string[] = [], o: Opts = {}): AttributeDef =>
  complex(
    name,
    description,
    [
      value,
      str('display', 'A human-readable name, primarily used for display purposes.', { mutability: o.mutability ?? 'readWrite' }),
      str('type', 'A label indicating the function of the value.', { canonicalValues: types, mutability: o.mutability ?? 'readWrite' }),
      bool('primary', 'Whether this is the preferred value. Only one value may be primary.', { mutability: o.mutability ?? 'readWrite' }),
    ],
    { multiValued: true, ...o },
  );

/** Finds a (sub-)attribute by name, case-insensitively (SCIM attribute names are). */
export function findAttribute(list: readonly AttributeDef[] | undefined, name: string): AttributeDef | undefined {
  if (!list) return undefined;
  const lower = name.toLowerCase();
  return list.find((a) => a.name.toLowerCase() === lower);
}
