import type { Container } from '../../../container.js';
import type { AuditEvent } from '../../audit/types.js';
import { apiKeyNames } from '../../api-keys/names.js';
import { connectionNames } from '../../connections/queries.js';
import { directoryNames } from '../../directories/queries.js';
import { findOrganizationsByIds } from '../../organizations/queries.js';
import { userLabels } from '../../users/queries.js';
import type { AdminPrincipal } from '../principal.js';

/** Everything an audit page names instead of showing ids, looked up once per page. */
export interface AuditNames {
  organizations: Map<string, { name: string; display_name: string }>;
  users: Map<string, { name: string | null; email: string }>;
  apiKeys: Map<string, string>;
  directories: Map<string, string>;
  connections: Map<string, string>;
  /**
   * API key names and CLI user names belong to whoever runs orgsync: shown to API-key sessions,
   * not to an organization's owners and admins signed in through SSO.
   */
  operatorView: boolean;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

export async function loadAuditNames(c: Container, p: AdminPrincipal, events: AuditEvent[]): Promise<AuditNames> {
  const orgs = new Set<string>();
  const users = new Set<string>();
  const keys = new Set<string>();
  const dirs = new Set<string>();
  const conns = new Set<string>();
  for (const e of events) {
    if (e.organization_id) orgs.add(e.organization_id);
    if (e.target_user_id) users.add(e.target_user_id);
    const id = e.actor.id;
    if (id && (e.actor.type === 'api_key' || e.actor.type === 'admin_page')) keys.add(id);
    if (id && e.actor.type === 'admin_page') users.add(id);
    if (id && e.actor.type === 'scim') dirs.add(id);
    if (id && e.actor.type === 'login') conns.add(id);
    const dir = str(e.detail.directory_id);
    if (dir) dirs.add(dir);
    const conn = str(e.detail.connection_id);
    if (conn) conns.add(conn);
  }
  const [organizations, userMap, apiKeys, directories, connections] = await Promise.all([
    findOrganizationsByIds(c.db, [...orgs]),
    userLabels(c.db, [...users]),
    apiKeyNames(c.db, [...keys]),
    directoryNames(c.db, [...dirs]),
    connectionNames(c.db, [...conns]),
  ]);
  return {
    organizations: new Map(organizations.map((o) => [o.id, { name: o.name, display_name: o.display_name }] as const)),
    users: userMap,
    apiKeys,
    directories,
    connections,
    operatorView: p.kind === 'api_key',
  };
}
