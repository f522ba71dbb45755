import type { SecretBox } from '../../platform/crypto.js';
import { Sealer } from '../../platform/sealed.js';

/** Keys of the pre-login state, each derived from ORGSYNC_SECRET for its one purpose. */
export interface SsoKeys {
  /** MACs the self-contained SAML AuthnRequest ids. */
  samlRequestIds: Buffer;
  samlPending: Sealer;
  oidcPending: Sealer;
}

export function ssoKeys(box: SecretBox): SsoKeys {
  return {
    samlRequestIds: box.derive('sso/saml-request-id/v1'),
    samlPending: new Sealer(box.derive('sso/saml-pre-login/v1'), 'saml-pre-login'),
    oidcPending: new Sealer(box.derive('sso/oidc-pre-login/v1'), 'oidc-pre-login'),
  };
}
