/** The identity providers a setup link offers, with the steps their admins follow. */
export type ProviderKey = 'okta' | 'entra' | 'google' | 'onelogin' | 'jumpcloud' | 'keycloak' | 'saml' | 'oidc';

/** Values from our side that the IdP admin pastes into their IdP. */
export type SpValueKey = 'acs_url' | 'entity_id' | 'metadata_url' | 'redirect_uri' | 'login_url';

export interface Step {
  text: string;
  value?: SpValueKey;
}

export interface Provider {
  key: ProviderKey;
  label: string;
  protocol: 'saml' | 'oidc';
  steps: Step[];
}

const samlAttributes: Step = { text: 'Send the attributes email, name (or givenName and familyName) and groups; the NameID can be the persistent user id or the email address.' };

export const PROVIDERS: readonly Provider[] = [
  {
    key: 'okta',
    label: 'Okta',
    protocol: 'saml',
    steps: [
      { text: 'In the Okta Admin Console open Applications → Applications → Create App Integration, choose SAML 2.0 and name the app.' },
      { text: 'Single sign-on URL (check "Use this for Recipient URL and Destination URL"):', value: 'acs_url' },
      { text: 'Audience URI (SP Entity ID):', value: 'entity_id' },
      { text: 'Name ID format: Persistent (or EmailAddress). Application username: Okta username or email.' },
      { text: 'Attribute statements: email → user.email, name → user.displayName. Group attribute statement: groups, filter "Matches regex" .* (or the groups you use).' },
      { text: 'Finish, assign the app to the people who should sign in, then copy the "Metadata URL" from the Sign On tab and paste it below.' },
    ],
  },
  {
    key: 'entra',
    label: 'Microsoft Entra ID',
    protocol: 'saml',
    steps: [
      { text: 'In the Microsoft Entra admin center open Enterprise applications → New application → Create your own application (non-gallery).' },
      { text: 'Single sign-on → SAML. Identifier (Entity ID):', value: 'entity_id' },
      { text: 'Reply URL (Assertion Consumer Service URL):', value: 'acs_url' },
      { text: 'Attributes & Claims: keep emailaddress and name; Add a group claim (Security groups, Source attribute: Group ID).' },
      { text: 'Assign users and groups, then copy the "App Federation Metadata Url" from the SAML Certificates section and paste it below.' },
    ],
  },
  {
    key: 'google',
    label: 'Google Workspace',
    protocol: 'saml',
    steps: [
      { text: 'In the Google Admin console open Apps → Web and mobile apps → Add app → Add custom SAML app.' },
      { text: 'On "Google Identity Provider details" download the metadata (IDP metadata) and paste its XML below.' },
      { text: 'ACS URL:', value: 'acs_url' },
      { text: 'Entity ID:', value: 'entity_id' },
      { text: 'Name ID format: EMAIL, Name ID: Basic Information › Primary email. Attribute mapping: Primary email → email; Group membership → groups.' },
      { text: 'Turn the app ON for the organizational units or groups that should sign in.' },
    ],
  },
  {
    key: 'onelogin',
    label: 'OneLogin',
    protocol: 'saml',
    steps: [
      { text: 'In OneLogin open Applications → Add App and pick "SAML Custom Connector (Advanced)".' },
      { text: 'Audience (EntityID):', value: 'entity_id' },
      { text: 'Recipient and ACS (Consumer) URL:', value: 'acs_url' },
      { text: 'ACS (Consumer) URL Validator: the same URL with dots escaped; SAML signature element: Both.' },
      samlAttributes,
      { text: 'Save, then copy the Issuer URL from More Actions → SAML Metadata and paste it below.' },
    ],
  },
  {
    key: 'jumpcloud',
    label: 'JumpCloud',
    protocol: 'saml',
    steps: [
      { text: 'In the JumpCloud Admin Portal open SSO Applications → Add New Application → Custom Application → Manage Single Sign-On (SSO), SAML.' },
      { text: 'SP Entity ID:', value: 'entity_id' },
      { text: 'ACS URL:', value: 'acs_url' },
      { text: 'IdP Entity ID: any unique value; SAMLSubject NameID: email. Include group attribute: groups.' },
      { text: 'Activate, export the IdP metadata and paste its XML below.' },
    ],
  },
  {
    key: 'keycloak',
    label: 'Keycloak',
    protocol: 'oidc',
    steps: [
      { text: 'In the Keycloak admin console select your realm, open Clients → Create client, type OpenID Connect, Client authentication ON, Standard flow ON.' },
      { text: 'Valid redirect URIs:', value: 'redirect_uri' },
      { text: 'Client scopes: add a "groups" mapper (Group Membership, token claim name groups, full group path OFF) to the dedicated scope.' },
      { text: 'Paste the issuer (https://<keycloak>/realms/<realm>), the client id and the client secret from the Credentials tab below.' },
    ],
  },
  {
    key: 'saml',
    label: 'Other SAML 2.0 provider',
    protocol: 'saml',
    steps: [
      { text: 'Create a SAML 2.0 application (service provider) in your identity provider.' },
      { text: 'Assertion Consumer Service (ACS) URL, HTTP-POST binding:', value: 'acs_url' },
      { text: 'SP Entity ID / Audience:', value: 'entity_id' },
      { text: 'Or import our SP metadata from:', value: 'metadata_url' },
      samlAttributes,
      { text: 'Sign the response or the assertion, then paste your IdP metadata (URL or XML), or its entity id, SSO URL and certificate, below.' },
    ],
  },
  {
    key: 'oidc',
    label: 'Other OpenID Connect provider',
    protocol: 'oidc',
    steps: [
      { text: 'Register a confidential web application (authorization code flow with PKCE) in your provider.' },
      { text: 'Redirect URI:', value: 'redirect_uri' },
      { text: 'Scopes: openid email profile; include a groups claim in the ID token if your provider can.' },
      { text: 'Paste the issuer URL, client id and client secret below.' },
    ],
  },
];

export const providerOf = (key: string | undefined): Provider | undefined => PROVIDERS.find((p) => p.key === key);
