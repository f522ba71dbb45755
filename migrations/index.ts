import type { Knex } from 'knex';
import * as m001 from './001-settings.js';
import * as m002 from './002-users.js';
import * as m003 from './003-connections.js';
import * as m004 from './004-identities.js';
import * as m005 from './005-organizations.js';
import * as m006 from './006-membership-rules.js';
import * as m007 from './007-directories.js';
import * as m008 from './008-scim-users.js';
import * as m009 from './009-scim-groups.js';
import * as m010 from './010-memberships.js';
import * as m011 from './011-sync-runs.js';
import * as m012 from './012-audit-events.js';
import * as m013 from './013-api-keys.js';
import * as m014 from './014-sessions.js';
import * as m015 from './015-saml-state.js';
import * as m016 from './016-rate-limits.js';
import * as m017 from './017-events.js';
import * as m018 from './018-job-locks.js';
import * as m150 from './150-identity-login-groups.js';
import * as m100 from './100-directory-resource-counts.js';
import * as m200 from './200-memberships-flagged-at-index.js';
import * as m250 from './250-webhooks.js';
import * as m251 from './251-webhook-deliveries.js';
import * as m252 from './252-webhook-delivery-attempts.js';
import * as m253 from './253-identities-external-id-index.js';
import * as m254 from './254-lean-log-indexes.js';
import * as m255 from './255-partial-nullable-indexes.js';
import * as m256 from './256-users-bound-connection.js';
import * as m257 from './257-detach-cross-tenant-accounts.js';
import * as m260 from './260-connections-allow-sha1-signatures.js';
import * as m266 from './266-sync-runs-incomplete.js';
import * as m276 from './276-directory-kinds.js';
import * as m277 from './277-directory-pull-state.js';
import * as m278 from './278-directory-pull-runs.js';
import * as m279 from './279-directory-pull-seen.js';
import * as m263 from './263-saml-login-handoffs.js';
import * as m280 from './280-setup-links.js';
import * as m281 from './281-domain-challenges.js';
import * as m282 from './282-connections-status.js';
import * as m293 from './293-saml-metadata-refresh.js';
import * as m290 from './290-sp-keys.js';
import * as m291 from './291-connections-sign-authn-requests.js';
import * as m292 from './292-connections-require-encrypted-assertions.js';
import * as m300 from './300-events-sequenced-after-commit.js';
import * as m301 from './301-directory-count-slots.js';
import * as m303 from './303-memberships-room-for-updates.js';
import * as m304 from './304-pg-expect.js';
import * as m305 from './305-pg-lean-write-indexes.js';
import * as m306 from './306-memberships-flagged-partial-index.js';
import * as m273 from './273-audit-membership-changes-index.js';
import * as m284 from './284-sync-runs-pull-run.js';
import * as m285 from './285-sync-runs-pull-summary.js';
import * as m296 from './296-connections-group-dn-match.js';
import * as m297 from './297-sync-runs-group-matching.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations are listed here rather than discovered on disk, so they load the same way under
 * tsx, vitest and the CLI. Append new ones; never reorder or edit a released one.
 */
const migrations: Array<[string, Migration]> = [
  ['001-settings', m001],
  ['002-users', m002],
  ['003-connections', m003],
  ['004-identities', m004],
  ['005-organizations', m005],
  ['006-membership-rules', m006],
  ['007-directories', m007],
  ['008-scim-users', m008],
  ['009-scim-groups', m009],
  ['010-memberships', m010],
  ['011-sync-runs', m011],
  ['012-audit-events', m012],
  ['013-api-keys', m013],
  ['014-sessions', m014],
  ['015-saml-state', m015],
  ['016-rate-limits', m016],
  ['017-events', m017],
  ['018-job-locks', m018],
  ['150-identity-login-groups', m150],
  ['100-directory-resource-counts', m100],
  ['200-memberships-flagged-at-index', m200],
  ['250-webhooks', m250],
  ['251-webhook-deliveries', m251],
  ['252-webhook-delivery-attempts', m252],
  ['253-identities-external-id-index', m253],
  ['254-lean-log-indexes', m254],
  ['255-partial-nullable-indexes', m255],
  ['256-users-bound-connection', m256],
  ['257-detach-cross-tenant-accounts', m257],
  ['260-connections-allow-sha1-signatures', m260],
  ['266-sync-runs-incomplete', m266],
  ['276-directory-kinds', m276],
  ['277-directory-pull-state', m277],
  ['278-directory-pull-runs', m278],
  ['279-directory-pull-seen', m279],
  ['263-saml-login-handoffs', m263],
  ['280-setup-links', m280],
  ['281-domain-challenges', m281],
  ['282-connections-status', m282],
  ['273-audit-membership-changes-index', m273],
  ['284-sync-runs-pull-run', m284],
  ['285-sync-runs-pull-summary', m285],
  ['290-sp-keys', m290],
  ['291-connections-sign-authn-requests', m291],
  ['292-connections-require-encrypted-assertions', m292],
  ['293-saml-metadata-refresh', m293],
  ['296-connections-group-dn-match', m296],
  ['297-sync-runs-group-matching', m297],
  ['300-events-sequenced-after-commit', m300],
  ['301-directory-count-slots', m301],
  ['303-memberships-room-for-updates', m303],
  ['304-pg-expect', m304],
  ['305-pg-lean-write-indexes', m305],
  ['306-memberships-flagged-partial-index', m306],
];

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => migrations.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = migrations.find(([n]) => n === name);
    if (!found) throw new Error(`Unknown migration ${name}`);
    return found[1];
  },
};
