import type { Db, Executor } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import type { SecretBox } from '../../platform/crypto.js';
import { AppError, conflict, notFound } from '../../platform/errors.js';
import { isUniqueViolation } from '../../platform/db-errors.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import { toPage, type Page } from '../../platform/paging.js';
import { withDefaults } from './attribute-mapping.js';
import { groupWarningsOfConnection } from '../reports/group-warnings.js';
import { toConnection, toView, type ConnectionView } from './model.js';
import * as q from './queries.js';
import { toSamlIdp } from './saml-idp.js';
import { fingerprintOf } from '../../platform/x509.js';
import { fetchIdpMetadata, jittered, toRefreshStatus, type MetadataUrlSettings } from './metadata-url.js';
import * as mq from './metadata-queries.js';
import { checkOidcIdp, type OidcCheckReport } from './oidc-check.js';
import type { Connection, CreateConnectionInput, MembershipRule, MembershipRuleInput, OidcIdp, SamlIdp, SamlIdpInput, TokenEndpointAuthMethod, UpdateConnectionInput } from './schema.js';
import { inTransaction } from '../../platform/transaction.js';
import type { SpKeyService } from './sp-key-service.js';

const domainClaimed = (domains: string[]) =>
  conflict('domain_already_claimed', `Domain ${domains.join(', ')} is already verified for another connection.`);

const samlOnly = (field: string) => new AppError('invalid_body', 400, `Invalid request body: ${field}: applies to SAML connections only.`);

export class ConnectionService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditService,
    private readonly secretBox: SecretBox,
    private readonly publicUrl: () => string,
    private readonly spKeys: SpKeyService,
    private readonly metadataSettings: () => MetadataUrlSettings,
  ) {}

  /** The connection with domains and rules, or undefined. */
  async load(db: Executor, idOrName: string): Promise<Connection | undefined> {
    const row = await q.findConnectionRow(db, idOrName);
    if (!row) return undefined;
    // At once on the pool; one after the other in a transaction, whose one connection takes one
    // query at a time (the pg driver queues a second and warns that it will stop doing so).
    const inTransaction = (db as { isTransaction?: boolean }).isTransaction === true;
    const [domains, rules] = inTransaction
      ? [await q.domainsOf(db, [row.id]), await q.rulesOf(db, row.id)]
      : await Promise.all([q.domainsOf(db, [row.id]), q.rulesOf(db, row.id)]);
    return toConnection(row, domains.get(row.id) ?? [], rules);
  }

  async require(db: Executor, idOrName: string): Promise<Connection> {
    const c = await this.load(db, idOrName);
    if (!c) throw notFound('Connection');
    return c;
  }

  /** The OIDC client secret, or undefined when the connection has none (private_key_jwt). */
  clientSecret(idp: OidcIdp): string | undefined {
    return idp.client_secret_sealed === undefined ? undefined : this.secretBox.open(idp.client_secret_sealed);
  }

  async view(db: Executor, c: Connection): Promise<ConnectionView> {
    const view = toView(c, this.publicUrl(), await q.organizationNames(db, c.membership_rules.map((r) => r.organization_id)));
    const url = c.type === 'saml' ? c.idp.metadata_url : undefined;
    return {
      ...view,
      metadata_refresh: url ? toRefreshStatus(url, await mq.findRefreshState(db, c.id)) : null,
      group_warnings: await groupWarningsOfConnection(db, c.id, c.updated_at),
    };
  }

  /**
   * A metadata URL is fetched before the transaction (the IdP may take seconds): the metadata must
   * parse and name an entity id, an SSO URL and signing certificates, or the save is a 400.
   */
  private async fetchSamlIdp(input: SamlIdpInput): Promise<{ idp: SamlIdp; validUntil: string | null } | undefined> {
    if (!('metadata_url' in input)) return undefined;
    const parsed = await fetchIdpMetadata(input.metadata_url, this.metadataSettings(), { entityId: input.entity_id, now: this.clock.now() });
    const { valid_until: validUntil, ...idp } = parsed;
    return { idp: { ...idp, metadata_url: input.metadata_url }, validUntil };
  }

  /** A connection saved from a metadata URL refreshes it from now on; any other IdP settings stop that. */
  private async writeRefreshState(trx: Executor, connectionId: string, fetched: { validUntil: string | null } | undefined, now: Date): Promise<void> {
    if (!fetched) return mq.deleteRefreshState(trx, connectionId);
    const at = now.toISOString();
    const next = new Date(now.getTime() + jittered(this.metadataSettings().refreshSeconds * 1000)).toISOString();
    await mq.upsertRefreshState(trx, { connection_id: connectionId, next_refresh_at: next, last_attempt_at: at, last_success_at: at, last_error: null, failures: 0, valid_until: fetched.validUntil });
  }

  async get(idOrName: string): Promise<ConnectionView> {
    return this.view(this.db, await this.require(this.db, idOrName));
  }

  /** `POST /connections/{id}/test`: what the OP's discovery offers, checked as sign-in will use it. */
  async test(idOrName: string): Promise<{ connection_id: string; name: string } & OidcCheckReport> {
    const c = await this.require(this.db, idOrName);
    if (c.type !== 'oidc') throw new AppError('invalid_request', 400, 'Only OIDC connections can be tested against their provider; a SAML IdP publishes no discovery document.');
    return { connection_id: c.id, name: c.name, ...(await checkOidcIdp(c.idp)) };
  }

  async list(take: number, afterId?: string): Promise<Page<ConnectionView>> {
    const page = toPage(await q.listConnectionRows(this.db, take + 1, afterId), take, (r) => ({ id: r.id }));
    const ids = page.items.map((r) => r.id);
    const domains = await q.domainsOf(this.db, ids);
    const items: ConnectionView[] = [];
    for (const row of page.items) items.push(await this.view(this.db, toConnection(row, domains.get(row.id) ?? [], await q.rulesOf(this.db, row.id))));
    return { items, next: page.next };
  }

  /** Organization references → ids (400 naming unknown ones); 409 if another connection governs one. */
  async resolveRules(db: Executor, connectionId: string, rules: MembershipRuleInput[]): Promise<MembershipRule[]> {
    const orgs = await q.organizationsByIdOrName(db, [...new Set(rules.map((r) => r.organization))]);
    const unknown = rules.map((r) => r.organization).filter((ref) => !orgs.has(ref.toLowerCase()));
    if (unknown.length) {
      throw new AppError('invalid_body', 400, `Invalid request body: membership_rules: unknown organization(s): ${[...new Set(unknown)].join(', ')}.`);
    }
    const resolved = rules.map((r) => ({ organization_id: orgs.get(r.organization.toLowerCase())!.id, role: r.role, groups: r.groups ?? null }));
    const taken = await q.governedElsewhere(db, [...new Set(resolved.map((r) => r.organization_id))], connectionId);
    if (taken.length) {
      throw conflict('organization_already_governed', `Organization ${taken.map((o) => o.name).join(', ')} is already governed by another connection.`);
    }
    return resolved;
  }

  async create(input: CreateConnectionInput, actor: Actor): Promise<ConnectionView> {
    const id = this.ids.uuid();
    const now = this.clock.now().toISOString();
    const fetched = input.type === 'saml' ? await this.fetchSamlIdp(input.idp) : undefined;
    const idp =
      input.type === 'saml'
        ? (fetched?.idp ?? toSamlIdp(input.idp as Exclude<SamlIdpInput, { metadata_url: string }>))
        : ({ issuer: input.idp.issuer.replace(/\/+$/, ''), client_id: input.idp.client_id, ...sealedSecret(this.secretBox, input.idp.client_secret), scopes: input.idp.scopes ?? ['openid', 'email', 'profile'], ...authMethod(input.idp.token_endpoint_auth_method) } satisfies OidcIdp);
    if (input.type === 'oidc') {
      assertSecretGiven(input.idp.client_secret, input.idp.token_endpoint_auth_method);
      assertIssuerAllowed(input.idp.issuer);
      await assertDiscoveryUsable({ issuer: input.idp.issuer.replace(/\/+$/, ''), token_endpoint_auth_method: input.idp.token_endpoint_auth_method });
    }
    if (input.type === 'oidc' && input.allow_sha1_signatures) throw samlOnly('allow_sha1_signatures');
    if (input.type === 'oidc' && input.sign_authn_requests != null) throw samlOnly('sign_authn_requests');
    if (input.type === 'oidc' && input.require_encrypted_assertions) throw samlOnly('require_encrypted_assertions');
    // Made before the transaction: generating RSA keys takes a moment, and holds no lock meanwhile.
    const keys = await this.spKeys.generateInitial(input.type, input.name);
    try {
      return await inTransaction(this.db, async (trx) => {
        const claimed = await q.claimedDomains(trx, input.domains, id);
        if (claimed.length) throw domainClaimed(claimed);
        await q.insertConnection(trx, {
          id,
          name: input.name,
          type: input.type,
          idp: JSON.stringify(idp),
          attribute_mapping: JSON.stringify(withDefaults(input.type, input.attribute_mapping)),
          roles_managed_by: input.roles_managed_by ?? 'idp',
          membership_sync: input.membership_sync ?? 'on_login',
          allow_idp_initiated: input.allow_idp_initiated ?? false,
          allow_sha1_signatures: input.allow_sha1_signatures ?? false,
          sign_authn_requests: input.sign_authn_requests ?? null,
          require_encrypted_assertions: input.require_encrypted_assertions ?? false,
          auto_remove_flagged_after_days: input.auto_remove_flagged_after_days ?? null,
          group_dn_match: input.group_dn_match ?? 'dn',
          created_at: now,
          updated_at: now,
        });
        await q.replaceDomains(trx, id, [...new Set(input.domains)]);
        await this.writeRules(trx, id, input.membership_rules ?? [], now);
        if (fetched) await this.writeRefreshState(trx, id, fetched, new Date(now));
        const spKeys = await this.spKeys.storeInitial(trx, id, keys);
        const created = await this.require(trx, id);
        await this.audit.record(trx, {
          action: 'connection.created',
          actor,
          detail: {
            connection_id: id,
            name: input.name,
            type: input.type,
            domains: created.domains,
            ...(fetched ? { metadata_url: fetched.idp.metadata_url, certificates: fetched.idp.certificates.map(fingerprintOf) } : {}),
            sp_keys: spKeys.map((k) => ({ use: k.use, key_id: k.id, kid: k.kid, fingerprint_sha256: k.fingerprint_sha256 })),
          },
        });
        return this.view(trx, created);
      });
    } catch (err) {
      throw this.mapUnique(err, input.name, input.domains);
    }
  }

  async update(idOrName: string, patch: UpdateConnectionInput, actor: Actor): Promise<ConnectionView> {
    // Before the transaction: the OP may take seconds to answer.
    if (patch.idp && 'issuer' in patch.idp) {
      assertIssuerAllowed(patch.idp.issuer);
      const before = await this.require(this.db, idOrName);
      const issuer = patch.idp.issuer.replace(/\/+$/, '');
      // A patch the secret rule refuses gets that answer (from patchIdp below), not the OP's.
      const keepsDestination = before.type === 'oidc' && issuer === before.idp.issuer && patch.idp.client_id === before.idp.client_id;
      if (patch.idp.client_secret !== undefined || keepsDestination || patch.idp.token_endpoint_auth_method === 'private_key_jwt') {
        const kept = before.type === 'oidc' ? before.idp.token_endpoint_auth_method : undefined;
        await assertDiscoveryUsable({ issuer, token_endpoint_auth_method: patch.idp.token_endpoint_auth_method ?? kept });
      }
    }
    let fetched: Awaited<ReturnType<ConnectionService['fetchSamlIdp']>>;
    if (patch.idp && 'metadata_url' in patch.idp) {
      // Only a SAML connection fetches: the type is checked before anything leaves the server.
      if ((await this.require(this.db, idOrName)).type !== 'saml') throw new AppError('invalid_body', 400, 'Invalid request body: idp: an OIDC connection needs issuer, client_id, client_secret.');
      fetched = await this.fetchSamlIdp(patch.idp);
    }
    try {
      return await inTransaction(this.db, async (trx) => {
        const current = await this.require(trx, idOrName);
        const now = this.clock.now().toISOString();
        const row: Partial<q.ConnectionRow> = { updated_at: now };
        if (patch.name !== undefined) row.name = patch.name;
        const newIdp = patch.idp !== undefined ? (fetched?.idp ?? this.patchIdp(current, patch.idp)) : undefined;
        if (newIdp !== undefined) row.idp = JSON.stringify(newIdp);
        if (patch.attribute_mapping !== undefined) row.attribute_mapping = JSON.stringify(withDefaults(current.type, patch.attribute_mapping));
        if (patch.roles_managed_by !== undefined) row.roles_managed_by = patch.roles_managed_by;
        if (patch.membership_sync !== undefined) row.membership_sync = patch.membership_sync;
        if (patch.allow_idp_initiated !== undefined) row.allow_idp_initiated = patch.allow_idp_initiated;
        if (patch.allow_sha1_signatures !== undefined) {
          if (current.type === 'oidc' && patch.allow_sha1_signatures) throw samlOnly('allow_sha1_signatures');
          row.allow_sha1_signatures = patch.allow_sha1_signatures;
        }
        if (patch.sign_authn_requests !== undefined) {
          if (current.type === 'oidc' && patch.sign_authn_requests !== null) throw samlOnly('sign_authn_requests');
          row.sign_authn_requests = patch.sign_authn_requests;
        }
        if (patch.require_encrypted_assertions !== undefined) {
          if (current.type === 'oidc' && patch.require_encrypted_assertions) throw samlOnly('require_encrypted_assertions');
          row.require_encrypted_assertions = patch.require_encrypted_assertions;
        }
        if (patch.auto_remove_flagged_after_days !== undefined) row.auto_remove_flagged_after_days = patch.auto_remove_flagged_after_days;
        if (patch.group_dn_match !== undefined) row.group_dn_match = patch.group_dn_match;
        await q.updateConnection(trx, current.id, row);
        if (patch.domains !== undefined) {
          const claimed = await q.claimedDomains(trx, patch.domains, current.id);
          if (claimed.length) throw domainClaimed(claimed);
          await q.replaceDomains(trx, current.id, [...new Set(patch.domains)]);
        }
        if (patch.membership_rules !== undefined) await this.writeRules(trx, current.id, patch.membership_rules, now);
        if (patch.idp !== undefined && current.type === 'saml') await this.writeRefreshState(trx, current.id, fetched, new Date(now));
        const { idp: _idp, ...changes } = patch;
        const certificates = current.type === 'saml' && newIdp ? certificateChanges(current.idp.certificates, (newIdp as SamlIdp).certificates) : {};
        const metadataUrl = fetched ? { metadata_url: fetched.idp.metadata_url } : {};
        await this.audit.record(trx, { action: 'connection.updated', actor, detail: { connection_id: current.id, changes, idp_changed: patch.idp !== undefined, ...metadataUrl, ...certificates } });
        return this.view(trx, await this.require(trx, current.id));
      });
    } catch (err) {
      throw this.mapUnique(err, patch.name ?? '', patch.domains ?? []);
    }
  }

  /** Deletes the connection; the organizations it governed become ungoverned, memberships stay. */
  async delete(idOrName: string, actor: Actor): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const current = await this.require(trx, idOrName);
      await q.setGovernedOrganizations(trx, current.id, [], this.clock.now().toISOString());
      await q.deleteConnection(trx, current.id);
      await this.audit.record(trx, { action: 'connection.deleted', actor, detail: { connection_id: current.id, name: current.name } });
    });
  }

  private async writeRules(trx: Executor, connectionId: string, rules: MembershipRuleInput[], at: string): Promise<void> {
    const resolved = await this.resolveRules(trx, connectionId, rules);
    await q.replaceRules(trx, connectionId, resolved.map((r) => ({ organization_id: r.organization_id, role: r.role, groups: r.groups ? JSON.stringify(r.groups) : null })));
    await q.setGovernedOrganizations(trx, connectionId, [...new Set(resolved.map((r) => r.organization_id))], at);
  }

  private patchIdp(current: Connection, idp: NonNullable<UpdateConnectionInput['idp']>): unknown {
    if (current.type === 'saml') {
      if ('issuer' in idp) throw new AppError('invalid_body', 400, 'Invalid request body: idp: a SAML connection needs metadata_url, metadata_xml, or entity_id, sso_url, certificates.');
      if ('metadata_url' in idp) throw new Error('metadata URLs are fetched before the transaction');
      return toSamlIdp(idp);
    }
    if (!('issuer' in idp)) throw new AppError('invalid_body', 400, 'Invalid request body: idp: an OIDC connection needs issuer, client_id, client_secret.');
    assertIssuerAllowed(idp.issuer);
    const issuer = idp.issuer.replace(/\/+$/, '');
    // The stored secret was given for one OP and one client: keeping it for another issuer or client
    // id would post it to whoever runs the new token endpoint.
    const method = idp.token_endpoint_auth_method ?? current.idp.token_endpoint_auth_method;
    const sameDestination = issuer === current.idp.issuer && idp.client_id === current.idp.client_id;
    if (idp.client_secret === undefined && !sameDestination && method !== 'private_key_jwt') {
      throw new AppError('invalid_body', 400, 'Invalid request body: idp.client_secret: required when idp.issuer or idp.client_id changes; the stored secret is kept only for the same issuer and client.');
    }
    const kept = idp.client_secret === undefined && sameDestination ? current.idp.client_secret_sealed : undefined;
    if (idp.client_secret === undefined && kept === undefined) assertSecretGiven(undefined, method);
    return {
      issuer,
      client_id: idp.client_id,
      ...(idp.client_secret !== undefined ? sealedSecret(this.secretBox, idp.client_secret) : kept !== undefined ? { client_secret_sealed: kept } : {}),
      scopes: idp.scopes ?? current.idp.scopes,
      ...authMethod(method),
    } satisfies OidcIdp;
  }

  private mapUnique(err: unknown, name: string, domains: string[]): unknown {
    if (!isUniqueViolation(err)) return err;
    const detail = String((err as { detail?: string; message?: string }).detail ?? (err as Error).message);
    if (/domain/.test(detail)) return domainClaimed(domains);
    return conflict('connection_exists', `A connection named "${name}" already exists.`);
  }
}

/**
 * An OP that answers discovery with a document sign-in cannot use is refused now, with what to
 * change, rather than at the first person's sign-in (an unreadable JWKS only shows in the test report). One that does not answer yet (being set up,
 * behind a network not yet opened) is accepted: `POST /connections/{id}/test` checks it later.
 */
async function assertDiscoveryUsable(idp: Pick<OidcIdp, 'issuer' | 'token_endpoint_auth_method'>): Promise<void> {
  const report = await checkOidcIdp(idp);
  // The document's own content decides; its JWKS being unreadable for a moment does not.
  const failed = report.checks.filter((c) => !c.ok && c.check !== 'jwks').map((c) => `${c.check}: ${c.message}`);
  if (!report.reached || failed.length === 0) return;
  throw new AppError('invalid_body', 400, `Invalid request body: idp: the OP's discovery document cannot be used. ${failed.join(' ')}`, { detail: { checks: report.checks } });
}

const sealedSecret = (box: SecretBox, secret: string | undefined): { client_secret_sealed?: string } => (secret === undefined ? {} : { client_secret_sealed: box.seal(secret) });

/** A client secret is needed for every token endpoint authentication but private_key_jwt (signed with the connection's own key). */
function assertSecretGiven(secret: string | undefined, method: TokenEndpointAuthMethod | undefined): void {
  if (secret === undefined && method !== 'private_key_jwt') {
    throw new AppError('invalid_body', 400, 'Invalid request body: idp.client_secret: required unless idp.token_endpoint_auth_method is private_key_jwt.');
  }
}

/** Stored only when chosen: absent means "from discovery" at each sign-in. */
const authMethod = (m: TokenEndpointAuthMethod | undefined): { token_endpoint_auth_method?: TokenEndpointAuthMethod } => (m ? { token_endpoint_auth_method: m } : {});

/** OIDC issuers are https; plain http only for loopback (development and tests). */
export function assertIssuerAllowed(issuer: string): void {
  const u = new URL(issuer);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) || u.hostname.startsWith('127.');
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
    throw new AppError('invalid_body', 400, 'Invalid request body: idp.issuer: must be https (http only for loopback hosts).');
  }
}

/** Certificates added and removed, by SHA-256 fingerprint (audit detail); empty when none changed. */
export function certificateChanges(before: string[], after: string[]): { certificates_added?: string[]; certificates_removed?: string[] } {
  const added = after.filter((c) => !before.includes(c)).map(fingerprintOf);
  const removed = before.filter((c) => !after.includes(c)).map(fingerprintOf);
  return added.length || removed.length ? { certificates_added: added, certificates_removed: removed } : {};
}
