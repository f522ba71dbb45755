import type { Trx } from '../../platform/db.js';
import type { Actor } from '../audit/types.js';
import type { ConnectionService } from '../connections/service.js';
import { membershipSyncMode } from '../connections/queries.js';
import type { GrantApplier } from '../flags/scim-listener.js';
import type { MembershipSyncService } from './service.js';

/**
 * `membership_sync: scim_and_login`: SCIM grants (provisioning, reactivation, group adds) go through
 * the login-sync rule engine at once, in the SCIM write's transaction. One column decides; the
 * whole connection (rules, domains) is loaded only when it applies.
 */
export function scimGrantsThroughRules(connections: ConnectionService, membershipSync: MembershipSyncService): GrantApplier {
  return {
    forConnection: async (trx: Trx, id: string, known?: string) => {
      if ((known ?? (await membershipSyncMode(trx, id))) !== 'scim_and_login') return null;
      const connection = await connections.load(trx, id);
      if (!connection) return null;
      return async (userId: string, actor: Actor, pullRunId?: string) => {
        await membershipSync.syncUser(trx, { connection, userId, trigger: 'scim', actor, lostGrant: null, pullRunId });
      };
    },
  };
}
