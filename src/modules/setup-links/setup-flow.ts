import { inTransaction } from '../../platform/transaction.js';
import type { Db } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/service.js';
import type { ConnectionService } from '../connections/service.js';
import type { Connection } from '../connections/schema.js';
import { samlSp, oidcSp } from '../connections/sp-urls.js';
import { withDefaults } from '../connections/attribute-mapping.js';
import type { DirectoryService } from '../directories/service.js';
import type { OrganizationService } from '../organizations/service.js';
import { assertFetchable, assertPlainXml } from './metadata-fetch.js';
import { DEFAULT_ROLES, readDraft, rulesFor, type Draft, type RoleMapping, type TestResult } from './draft.js';
import type { DomainOwner, DomainProofService, ChallengeView, CheckOutcome } from './domain-proofs.js';
import { providerOf, type Provider, type ProviderKey, type SpValueKey } from './providers.js';
import * as q from './queries.js';
import { intentsOf, setupLinkActor, type SetupLinkService } from './service.js';
import type { Intent } from './schema.js';

export interface SetupState {
  link: { id: string; intents: Intent[]; expires_at: string };
  organization: { id: string; name: string; display_name: string };
  provider: Provider | null;
  connection: { id: string; type: 'saml' | 'oidc'; configured: boolean; idp_summary: string | null } | null;
  sp: Partial<Record<SpValueKey, string>>;
  domains: ChallengeView[];
  roles: RoleMapping;
  test: TestResult | null;
  directory: { id: string; scim_base_url: string; users: number; groups: number; last_activity_at: string | null } | null;
  /** What still stands between the customer and Finish. */
  missing: string[];
}

export type SamlInput = { metadata_url: string } | { metadata_xml: string } | { entity_id: string; sso_url: string; certificate: string };
export interface OidcInput {
  issuer: string;
  client_id: string;
  client_secret: string;
  scopes?: string[];
}

const badInput = (message: string) => new AppError('invalid_body', 400, message);

const isConfigured = (c: Connection): boolean => (c.type === 'saml' ? !!c.idp.entity_id : !!c.idp.issuer && !!c.idp.client_secret_sealed);

/** Everything a setup link's pages do, always within the link's own organization. */
export class SetupFlow {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditService,
    private readonly links: SetupLinkService,
    private readonly organizations: OrganizationService,
    private readonly connections: ConnectionService,
    private readonly directories: DirectoryService,
    private readonly proofs: DomainProofService,
    private readonly settings: () => { publicUrl: string; allowPrivateTargets: boolean },
  ) {}

  private owner(link: q.SetupLinkRow): DomainOwner {
    return { kind: 'setup_link', id: link.id, connectionId: link.connection_id };
  }

  private async draftConnection(link: q.SetupLinkRow): Promise<Connection | undefined> {
    if (!link.connection_id) return undefined;
    const c = await this.connections.load(this.db, link.connection_id);
    // Once finished (or if an operator took it over) the link no longer edits it.
    return c?.status === 'setup' ? c : undefined;
  }

  async state(link: q.SetupLinkRow): Promise<SetupState> {
    const org = await this.organizations.getRow(link.organization_id);
    const draft = readDraft(link.draft);
    const conn = await this.draftConnection(link);
    const intents = intentsOf(link);
    const publicUrl = this.settings().publicUrl;
    const sp = conn ? (conn.type === 'saml' ? samlSp(publicUrl, conn.id) : oidcSp(publicUrl, conn.id)) : {};
    const domains = await this.proofs.list(this.db, this.owner(link));
    const dir = link.directory_id ? await this.directories.get(link.directory_id).catch(() => null) : null;
    const missing: string[] = [];
    if (intents.includes('sso')) {
      if (!conn || !isConfigured(conn)) missing.push('Configure your identity provider.');
      if (!domains.some((d) => d.status === 'verified')) missing.push('Verify at least one email domain.');
    }
    if (intents.includes('directory') && !dir) missing.push('Create the SCIM directory endpoint.');
    return {
      link: { id: link.id, intents, expires_at: link.expires_at },
      organization: { id: org.id, name: org.name, display_name: org.display_name },
      provider: providerOf(draft.provider) ?? null,
      connection: conn ? { id: conn.id, type: conn.type, configured: isConfigured(conn), idp_summary: conn.type === 'saml' ? conn.idp.entity_id ?? null : conn.idp.issuer ?? null } : null,
      sp,
      domains,
      roles: draft.roles ?? DEFAULT_ROLES,
      test: draft.test ?? null,
      // A setup link only ever makes SCIM directories, which always have a base URL.
      directory: dir ? { id: dir.id, scim_base_url: dir.scim_base_url ?? '', users: dir.users, groups: dir.groups, last_activity_at: dir.last_activity_at } : null,
      missing,
    };
  }

  private async saveDraft(link: q.SetupLinkRow, patch: Partial<Draft>): Promise<void> {
    await q.updateSetupLink(this.db, link.id, { draft: JSON.stringify({ ...readDraft(link.draft), ...patch }) });
  }

  private requireSso(link: q.SetupLinkRow): void {
    if (!intentsOf(link).includes('sso')) throw new AppError('not_in_setup_link', 403, 'This setup link does not include single sign-on.');
  }

  /** Picks the IdP; a draft connection of the right protocol is created so exact values can be shown. */
  async chooseProvider(link: q.SetupLinkRow, key: ProviderKey): Promise<void> {
    this.requireSso(link);
    const provider = providerOf(key);
    if (!provider) throw badInput('Invalid request body: provider: unknown identity provider.');
    const actor = setupLinkActor(link);
    const current = await this.draftConnection(link);
    if (current && current.type !== provider.protocol) {
      await this.connections.delete(current.id, actor);
      await q.updateSetupLink(this.db, link.id, { connection_id: null });
    }
    if (!current || current.type !== provider.protocol) await this.createDraftConnection(link, provider.protocol);
    await this.saveDraft(link, { provider: provider.key });
    await this.audit.record(this.db, { action: 'setup_link.provider_chosen', actor, organizationId: link.organization_id, detail: { setup_link_id: link.id, provider: provider.key } });
  }

  private async createDraftConnection(link: q.SetupLinkRow, protocol: 'saml' | 'oidc'): Promise<void> {
    const org = await this.organizations.getRow(link.organization_id);
    const id = this.ids.uuid();
    const now = this.clock.now().toISOString();
    const name = `${org.name.slice(0, 70).replace(/-+$/, '')}-${protocol}-${id.slice(0, 8)}`;
    // Empty but well-formed IdP settings: pages and the API list the draft before it is configured.
    const idp = protocol === 'saml' ? { entity_id: '', sso_url: '', certificates: [] } : { issuer: '', client_id: '', client_secret_sealed: '', scopes: ['openid', 'email', 'profile'] };
    const mapping = withDefaults(protocol, undefined);
    await inTransaction(this.db, async (trx) => {
      // Inserted in `setup`: until Finish its sign-ins are tests and it governs nothing.
      await trx('connections').insert({ id, name, type: protocol, idp: JSON.stringify(idp), attribute_mapping: JSON.stringify(mapping), roles_managed_by: 'idp', membership_sync: 'on_login', allow_idp_initiated: false, auto_remove_flagged_after_days: null, created_at: now, updated_at: now, status: 'setup' });
      await q.updateSetupLink(trx, link.id, { connection_id: id });
      await this.audit.record(trx, { action: 'connection.created', actor: setupLinkActor(link), organizationId: link.organization_id, detail: { connection_id: id, name, type: protocol, status: 'setup', setup_link_id: link.id } });
    });
    link.connection_id = id;
  }

  async saveSaml(link: q.SetupLinkRow, input: SamlInput): Promise<void> {
    const conn = await this.requireDraft(link, 'saml');
    let idp: { metadata_url: string } | { metadata_xml: string } | { entity_id: string; sso_url: string; certificates: string[] };
    // By URL, the connection keeps refreshing it (certificate rollover); the guard is checked first, with this page's wording.
    if ('metadata_url' in input) idp = { metadata_url: (await assertFetchable(input.metadata_url.trim(), this.settings().allowPrivateTargets)).href };
    else if ('metadata_xml' in input) {
      assertPlainXml(input.metadata_xml);
      idp = { metadata_xml: input.metadata_xml };
    } else {
      if (!/^https?:\/\//.test(input.sso_url)) throw badInput('Invalid request body: sso_url: must be an http(s) URL.');
      idp = { entity_id: input.entity_id.trim(), sso_url: input.sso_url.trim(), certificates: [input.certificate] };
    }
    await this.connections.update(conn.id, { idp }, setupLinkActor(link));
  }

  async saveOidc(link: q.SetupLinkRow, input: OidcInput): Promise<void> {
    const conn = await this.requireDraft(link, 'oidc');
    // The issuer is fetched server-side (discovery) at sign-in: the same SSRF guard as metadata URLs.
    await assertFetchable(input.issuer, this.settings().allowPrivateTargets);
    await this.connections.update(conn.id, { idp: { issuer: input.issuer.trim(), client_id: input.client_id.trim(), client_secret: input.client_secret, scopes: input.scopes?.length ? [...new Set(['openid', ...input.scopes])] : undefined } }, setupLinkActor(link));
  }

  private async requireDraft(link: q.SetupLinkRow, protocol: 'saml' | 'oidc'): Promise<Connection> {
    this.requireSso(link);
    const conn = await this.draftConnection(link);
    if (!conn || conn.type !== protocol) throw new AppError('provider_not_chosen', 409, `Choose a${protocol === 'oidc' ? 'n OpenID Connect' : ' SAML'} identity provider first.`);
    return conn;
  }

  addDomain(link: q.SetupLinkRow, domain: string): Promise<ChallengeView> {
    this.requireSso(link);
    return this.proofs.request(this.owner(link), domain);
  }

  removeDomain(link: q.SetupLinkRow, domain: string): Promise<void> {
    return this.proofs.remove(this.owner(link), domain);
  }

  async checkDomain(link: q.SetupLinkRow, domain: string): Promise<CheckOutcome> {
    return this.proofs.check(this.owner(link), domain, (trx) =>
      this.audit.record(trx, { action: 'setup_link.domain_verified', actor: setupLinkActor(link), organizationId: link.organization_id, detail: { setup_link_id: link.id, domain, method: 'dns_txt' } }),
    );
  }

  async saveRoles(link: q.SetupLinkRow, roles: RoleMapping): Promise<void> {
    this.requireSso(link);
    await this.saveDraft(link, { roles });
    await this.audit.record(this.db, { action: 'setup_link.roles_saved', actor: setupLinkActor(link), organizationId: link.organization_id, detail: { setup_link_id: link.id, roles } });
  }

  /** The SCIM endpoint: for the link's draft connection, or the one already governing (only) this organization. */
  async createDirectory(link: q.SetupLinkRow): Promise<{ scim_base_url: string; token: string }> {
    if (!intentsOf(link).includes('directory')) throw new AppError('not_in_setup_link', 403, 'This setup link does not include a directory.');
    if (link.directory_id) throw new AppError('directory_exists', 409, 'The directory endpoint was already created; its token was shown once. Ask your contact to rotate it if it was lost.');
    const org = await this.organizations.getRow(link.organization_id);
    const connectionId = intentsOf(link).includes('sso') ? (await this.draftConnection(link))?.id : (org.connection_id ?? undefined);
    if (!connectionId) throw new AppError('provider_not_chosen', 409, 'Choose your identity provider first.');
    const dir = await this.directories.create({ connection_id: connectionId, name: `${org.name}-directory` }, setupLinkActor(link));
    await q.updateSetupLink(this.db, link.id, { directory_id: dir.id });
    if (!dir.scim_base_url || !dir.token) throw new Error('a SCIM directory was created without its base URL or token');
    return { scim_base_url: dir.scim_base_url, token: dir.token };
  }

  /** Makes the connection live for this organization only, with the proven domains and the role mapping. */
  async finish(link: q.SetupLinkRow): Promise<void> {
    const state = await this.state(link);
    if (state.missing.length) throw new AppError('setup_incomplete', 409, `Not finished yet: ${state.missing.join(' ')}`);
    const actor = setupLinkActor(link);
    const conn = await this.draftConnection(link);
    if (conn) {
      const domains = state.domains.filter((d) => d.status === 'verified').map((d) => d.domain);
      await this.connections.update(conn.id, { domains, membership_rules: rulesFor(link.organization_id, state.roles) }, actor);
    }
    await inTransaction(this.db, async (trx) => {
      const fresh = await this.links.live(trx, link.id);
      if (conn) await trx('connections').where({ id: conn.id, status: 'setup' }).update({ status: 'active', updated_at: this.clock.now().toISOString() });
      await q.updateSetupLink(trx, fresh.id, { finished_at: this.clock.now().toISOString() });
      await this.audit.record(trx, { action: 'setup_link.finished', actor, organizationId: link.organization_id, detail: { setup_link_id: link.id, connection_id: conn?.id ?? null, directory_id: link.directory_id } });
    });
  }
}
