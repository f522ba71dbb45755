import { parseJson, toBool } from '../../platform/db.js';
import type { AttributeMapping } from './attribute-mapping.js';
import type { ConnectionRow, RuleRow } from './queries.js';
import type { Connection, MembershipRule, OidcIdp, SamlIdp } from './schema.js';
import type { MetadataRefreshStatus } from './metadata-url.js';
import { oidcSp, samlSp, type OidcSp, type SamlSp } from './sp-urls.js';
import type { GroupWarnings } from '../reports/group-warnings.js';

export const toRule = (r: RuleRow): MembershipRule => ({ organization_id: r.organization_id, role: r.role, groups: parseJson<string[] | null>(r.groups, null) });

export function toConnection(row: ConnectionRow, domains: string[], rules: RuleRow[]): Connection {
  const base = {
    id: row.id,
    name: row.name,
    domains,
    attribute_mapping: parseJson<AttributeMapping>(row.attribute_mapping, {} as AttributeMapping),
    membership_rules: rules.map(toRule),
    roles_managed_by: row.roles_managed_by,
    membership_sync: row.membership_sync,
    allow_idp_initiated: toBool(row.allow_idp_initiated),
    allow_sha1_signatures: toBool(row.allow_sha1_signatures),
    sign_authn_requests: row.sign_authn_requests === null || row.sign_authn_requests === undefined ? null : toBool(row.sign_authn_requests),
    require_encrypted_assertions: toBool(row.require_encrypted_assertions),
    auto_remove_flagged_after_days: row.auto_remove_flagged_after_days ?? null,
    group_dn_match: row.group_dn_match === 'cn' ? ('cn' as const) : ('dn' as const),
    created_at: row.created_at,
    updated_at: row.updated_at,
    status: row.status === 'setup' ? ('setup' as const) : ('active' as const),
  };
  return row.type === 'saml'
    ? { ...base, type: 'saml', idp: parseJson<SamlIdp>(row.idp, {} as SamlIdp) }
    : { ...base, type: 'oidc', idp: parseJson<OidcIdp>(row.idp, {} as OidcIdp) };
}

/** The API shape: secrets never leave the server; rules name their organization by id and name. */
export interface ConnectionView extends Omit<Connection, 'idp' | 'membership_rules' | 'type'> {
  type: 'saml' | 'oidc';
  idp: SamlIdp | (Omit<OidcIdp, 'client_secret_sealed'> & { client_secret_set: boolean });
  membership_rules: Array<{ organization_id: string; organization: string; role: string; groups: string[] | null }>;
  sp: SamlSp | OidcSp;
  /** SAML connections from a metadata URL: how its refresh stands; null otherwise. */
  metadata_refresh?: MetadataRefreshStatus | null;
  /** Filled by the service from the connection's recent logins. */
  group_warnings: GroupWarnings | null;
}

export function toView(c: Connection, publicUrl: string, orgNames: Map<string, string>): ConnectionView {
  const rules = c.membership_rules.map((r) => ({
    organization_id: r.organization_id,
    organization: orgNames.get(r.organization_id) ?? r.organization_id,
    role: r.role,
    groups: r.groups,
  }));
  if (c.type === 'saml') return { ...c, membership_rules: rules, sp: samlSp(publicUrl, c.id), group_warnings: null };
  const { client_secret_sealed: _sealed, ...idp } = c.idp;
  return { ...c, idp: { ...idp, client_secret_set: c.idp.client_secret_sealed !== undefined }, membership_rules: rules, sp: oidcSp(publicUrl, c.id), group_warnings: null };
}
