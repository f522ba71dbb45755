import { complex, ref, str, type SchemaDef } from './attributes.js';

export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

export const groupSchema: SchemaDef = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    str('displayName', 'A human-readable name for the Group.', { required: true, uniqueness: 'server' }),
    complex(
      'members',
      'A list of members of the Group.',
      [
        str('value', 'Identifier of the member of this Group.', { mutability: 'immutable', caseExact: true }),
        ref('$ref', 'The URI of the member resource.', ['User', 'Group'], { mutability: 'immutable' }),
        str('display', 'A human-readable name of the member.', { mutability: 'readOnly' }),
        str('type', 'The type of the member.', { mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
      ],
      { multiValued: true },
    ),
  ],
};
