import { bool, complex, multi, ref, str, type SchemaDef } from './attributes.js';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** RFC 7643 §4.1, without `password`: orgsync never stores or returns one (SSO only). */
export const userSchema: SchemaDef = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    str('userName', 'Unique identifier for the User, typically used to sign in.', { required: true, uniqueness: 'server' }),
    complex('name', "The components of the user's real name.", [
      str('formatted', 'The full name, formatted for display.'),
      str('familyName', 'The family name of the User.'),
      str('givenName', 'The given name of the User.'),
      str('middleName', 'The middle name(s) of the User.'),
      str('honorificPrefix', 'The honorific prefix(es) of the User.'),
      str('honorificSuffix', 'The honorific suffix(es) of the User.'),
    ]),
    str('displayName', 'The name of the User, suitable for display to end-users.'),
    str('nickName', 'The casual way to address the user.'),
    ref('profileUrl', "A fully qualified URL pointing to the User's online profile.", ['external']),
    str('title', "The user's title, such as 'Vice President'."),
    str('userType', 'The relationship between the organization and the user.'),
    str('preferredLanguage', "The User's preferred written or spoken language."),
    str('locale', "The User's default location."),
    str('timezone', "The User's time zone in IANA format."),
    bool('active', "The User's administrative status."),
    multi('emails', 'Email addresses for the user.', str('value', 'Email address.'), ['work', 'home', 'other']),
    multi('phoneNumbers', 'Phone numbers for the User.', str('value', 'Phone number.'), ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    multi('ims', 'Instant messaging addresses for the User.', str('value', 'Instant messaging address.')),
    multi('photos', 'URLs of photos of the User.', ref('value', 'URL of a photo of the User.', ['external']), ['photo', 'thumbnail']),
    complex(
      'addresses',
      'A physical mailing address for this User.',
      [
        str('formatted', 'The full mailing address.'),
        str('streetAddress', 'The full street address component.'),
        str('locality', 'The city or locality component.'),
        str('region', 'The state or region component.'),
        str('postalCode', 'The zip code or postal code component.'),
        str('country', 'The country name component.'),
        str('type', 'A label indicating the function of the address.', { canonicalValues: ['work', 'home', 'other'] }),
        bool('primary', 'Whether this is the primary address.'),
      ],
      { multiValued: true },
    ),
    multi('groups', 'Groups the user belongs to (read-only: change them through the Group resource).', str('value', 'The id of the Group.', { mutability: 'readOnly' }), ['direct', 'indirect'], { mutability: 'readOnly' }),
    multi('entitlements', 'Entitlements of the User.', str('value', 'The value of an entitlement.')),
    multi('roles', 'Roles of the User.', str('value', 'The value of a role.')),
    multi('x509Certificates', 'Certificates of the User.', { ...str('value', 'The value of an X.509 certificate.'), type: 'binary' }),
  ],
};

export const enterpriseUserSchema: SchemaDef = {
  id: ENTERPRISE_USER_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    str('employeeNumber', 'Numeric or alphanumeric identifier assigned to a person.'),
    str('costCenter', 'Identifies the name of a cost center.'),
    str('organization', 'Identifies the name of an organization.'),
    str('division', 'Identifies the name of a division.'),
    str('department', 'Identifies the name of a department.'),
    complex('manager', "The User's manager.", [
      str('value', 'The id of the SCIM resource representing the manager.'),
      ref('$ref', 'The URI of the SCIM resource representing the manager.', ['User']),
      str('displayName', 'The displayName of the manager.', { mutability: 'readOnly' }),
    ]),
  ],
};
