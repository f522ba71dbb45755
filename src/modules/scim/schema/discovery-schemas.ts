import { bool, complex, ref, str, type AttributeDef, type SchemaDef } from './attributes.js';

/**
 * RFC 7643 §8.7.2: the schemas of the discovery resources themselves, so `/Schemas` describes every
 * resource this server returns. Everything here is read-only: clients only read discovery.
 */
const ro = { mutability: 'readOnly' } as const;
const integer = (name: string, description: string, o: { required?: boolean } = {}): AttributeDef => ({ ...str(name, description, { ...ro, ...o }), type: 'integer' });
const supported = (name: string, description: string, extra: AttributeDef[] = []): AttributeDef =>
  complex(name, description, [bool('supported', 'Whether the operation is supported.', { ...ro, required: true }), ...extra], { ...ro, required: true });

export const SERVICE_PROVIDER_CONFIG_SCHEMA: SchemaDef = {
  id: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  name: 'Service Provider Configuration',
  description: "Schema for representing the service provider's configuration",
  attributes: [
    ref('documentationUri', "An HTTP-addressable URL pointing to the service provider's human-consumable help documentation.", ['external'], ro),
    supported('patch', 'A complex type that specifies PATCH configuration options.'),
    supported('bulk', 'A complex type that specifies bulk configuration options.', [
      integer('maxOperations', 'An integer value specifying the maximum number of operations.', { required: true }),
      integer('maxPayloadSize', 'An integer value specifying the maximum payload size in bytes.', { required: true }),
    ]),
    supported('filter', 'A complex type that specifies FILTER options.', [
      integer('maxResults', 'An integer value specifying the maximum number of resources returned in a response.', { required: true }),
    ]),
    supported('changePassword', 'A complex type that specifies configuration options related to changing a password.'),
    supported('sort', 'A complex type that specifies sort result options.'),
    supported('etag', 'A complex type that specifies ETag configuration options.'),
    complex(
      'authenticationSchemes',
      'A complex type that specifies supported authentication scheme properties.',
      [
        str('type', 'The authentication scheme.', { ...ro, required: true, canonicalValues: ['oauth', 'oauth2', 'oauthbearertoken', 'httpbasic', 'httpdigest'] }),
        str('name', 'The common authentication scheme name, e.g., HTTP Basic.', { ...ro, required: true }),
        str('description', 'A description of the authentication scheme.', { ...ro, required: true }),
        ref('specUri', "An HTTP-addressable URL pointing to the authentication scheme's specification.", ['external'], ro),
        ref('documentationUri', "An HTTP-addressable URL pointing to the authentication scheme's usage documentation.", ['external'], ro),
        bool('primary', 'Whether this is the preferred authentication scheme.', ro),
      ],
      { ...ro, multiValued: true, required: true },
    ),
  ],
};

export const RESOURCE_TYPE_SCHEMA: SchemaDef = {
  id: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  name: 'ResourceType',
  description: 'Specifies the schema that describes a SCIM resource type',
  attributes: [
    str('id', "The resource type's server unique id.", ro),
    str('name', 'The resource type name.', { ...ro, required: true }),
    str('description', "The resource type's human-readable description.", ro),
    ref('endpoint', "The resource type's HTTP-addressable endpoint relative to the Base URL, e.g., '/Users'.", ['uri'], { ...ro, required: true }),
    ref('schema', "The resource type's primary/base schema URI.", ['uri'], { ...ro, required: true }),
    complex(
      'schemaExtensions',
      "A list of URIs of the resource type's schema extensions.",
      [
        ref('schema', 'The URI of a schema extension.', ['uri'], { ...ro, required: true }),
        bool('required', 'Whether a schema extension is required for the resource type.', { ...ro, required: true }),
      ],
      { ...ro, multiValued: true },
    ),
  ],
};

/** The attribute-definition attributes (RFC 7643 §7), shared by `attributes` and `subAttributes`. */
const definition = (withSubAttributes: boolean): AttributeDef[] => [
  str('name', "The attribute's name.", { ...ro, required: true, caseExact: true }),
  str('type', "The attribute's data type.", {
    ...ro,
    required: true,
    canonicalValues: ['string', 'complex', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'binary'],
  }),
  bool('multiValued', 'Whether the attribute is multi-valued.', { ...ro, required: true }),
  str('description', "A human-readable description of the attribute.", ro),
  bool('required', 'Whether the attribute is required.', ro),
  str('canonicalValues', 'A collection of canonical values.', { ...ro, multiValued: true }),
  bool('caseExact', 'Whether a string attribute is case sensitive.', ro),
  str('mutability', 'Whether the attribute is modifiable.', { ...ro, canonicalValues: ['readOnly', 'readWrite', 'immutable', 'writeOnly'] }),
  str('returned', 'When the attribute is returned in a response.', { ...ro, canonicalValues: ['always', 'never', 'default', 'request'] }),
  str('uniqueness', 'How the service provider enforces uniqueness of attribute values.', { ...ro, canonicalValues: ['none', 'server', 'global'] }),
  str('referenceTypes', 'The names of the resource types that may be referenced.', { ...ro, multiValued: true }),
  ...(withSubAttributes ? [complex('subAttributes', 'Used to define the sub-attributes of a complex attribute.', definition(false), { ...ro, multiValued: true })] : []),
];

export const SCHEMA_SCHEMA: SchemaDef = {
  id: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
  name: 'Schema',
  description: 'Specifies the schema attribute',
  attributes: [
    str('id', 'The unique URI of the schema.', { ...ro, required: true, caseExact: true }),
    str('name', 'The schema name.', ro),
    str('description', 'The schema description.', ro),
    complex('attributes', 'A complex attribute that includes the attributes of a schema.', definition(true), { ...ro, multiValued: true, required: true }),
  ],
};
