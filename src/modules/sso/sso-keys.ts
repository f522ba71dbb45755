import type { SecretBox } from '../../platform/crypto.js';
import { Sealer } from '../../platform/sealed.js';

/** Keys of the pre-login state, each derived from ORGSYNC_SECRET for its one purpose. */
export interface SsoKeys {
  oidcPending: Sealer;
}

export function ssoKeys(box: SecretBox): SsoKeys {
  return {
    oidcPending: new Sealer(box.derive('sso/oidc-pre-login/v1'), 'oidc-pre-login'),
  };
}
