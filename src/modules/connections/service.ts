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
import { toConnection, toView, type ConnectionView } from './model.js';
import * as q from './queries.js';
import { toSamlIdp } from './saml-idp.js';
import type { Connection, CreateConnectionInput, MembershipRule, MembershipRuleInput, OidcIdp, UpdateConnectionInput } from './schema.js';
import { inTransaction } from '../../platform/transaction.js';

const domainClaimed = (domains: string[]) =>
  conflict('domain_already_claimed', `Domain ${domains.join(', ')} is already verified for another connection.`);

export class ConnectionService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditService,
    private readonly secretBox: SecretBox,
    private readonly publicUrl: () => string,
  ) {}

  /** The connection with domains and rules, or undefined. */
  async load(db: Executor, idOrName: string): Promise<Connection | undefined> {
    const row = await q.findConnectionRow(db, idOrName);
    if (!row) return undefined;
    const [domains, rules] = await Promise.all([q.domainsOf(db, [row.id]), q.rulesOf(db, row.id)]);
    return toConnection(row, domains.get(row.id) ?? [], rules);
  }

  async require(db: Executor, idOrName: string): Promise<Connection> {
    const c = await this.load(db, idOrName);
    if (!c) throw notFound('Connection');
    return c;
  }

  clientSecret(idp: OidcIdp): string {
    return this.secretBox.open(idp.client_secret_sealed);
  }

  async view(db: Executor, c: Connection): Promise<ConnectionView> {
    return toView(c, this.publicUrl(), await q.organizationNames(db, c.membership_rules.map((r) => r.organization_id)));
  }

  async get(idOrName: string): Promise<ConnectionView> {
    return this.view(this.db, await this.require(this.db, idOrName));
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
    const idp =
      input.type === 'saml'
        ? toSamlIdp(input.idp)
        : ({ issuer: input.idp.issuer.replace(/\/+$/, ''), client_id: input.idp.client_id, client_secret_sealed: this.secretBox.seal(input.idp.client_secret), scopes: input.idp.scopes ?? ['openid', 'email', 'profile'] } satisfies OidcIdp);
    if (input.type === 'oidc') assertIssuerAllowed(input.idp.issuer);
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
          auto_remove_flagged_after_days: input.auto_remove_flagged_after_days ?? null,
          created_at: now,
          updated_at: now,
        });
        await q.replaceDomains(trx, id, [...new Set(input.domains)]);
        await this.writeRules(trx, id, input.membership_rules ?? [], now);
        const created = await this.require(trx, id);
        await this.audit.record(trx, { action: 'connection.created', actor, detail: { connection_id: id, name: input.name, type: input.type, domains: created.domains } });
        return this.view(trx, created);
      });
    } catch (err) {
      throw this.mapUnique(err, input.name, input.domains);
    }
  }

  async update(idOrName: string, patch: UpdateConnectionInput, actor: Actor): Promise<ConnectionView> {
    try {
      return await inTransaction(this.db, async (trx) => {
        const current = await this.require(trx, idOrName);
        const now = this.clock.now().toISOString();
        const row: Partial<q.ConnectionRow> = { updated_at: now };
        if (patch.name !== undefined) row.name = patch.name;
        if (patch.idp !== undefined) row.idp = JSON.stringify(this.patchIdp(current, patch.idp));
        if (patch.attribute_mapping !== undefined) row.attribute_mapping = JSON.stringify(withDefaults(current.type, patch.attribute_mapping));
        if (patch.roles_managed_by !== undefined) row.roles_managed_by = patch.roles_managed_by;
        if (patch.membership_sync !== undefined) row.membership_sync = patch.membership_sync;
        if (patch.allow_idp_initiated !== undefined) row.allow_idp_initiated = patch.allow_idp_initiated;
        if (patch.auto_remove_flagged_after_days !== undefined) row.auto_remove_flagged_after_days = patch.auto_remove_flagged_after_days;
        await q.updateConnection(trx, current.id, row);
        if (patch.domains !== undefined) {
          const claimed = await q.claimedDomains(trx, patch.domains, current.id);
          if (claimed.length) throw domainClaimed(claimed);
          await q.replaceDomains(trx, current.id, [...new Set(patch.domains)]);
        }
        if (patch.membership_rules !== undefined) await this.writeRules(trx, current.id, patch.membership_rules, now);
        const { idp: _idp, ...changes } = patch;
        await this.audit.record(trx, { action: 'connection.updated', actor, detail: { connection_id: current.id, changes, idp_changed: patch.idp !== undefined } });
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
      if ('issuer' in idp) throw new AppError('invalid_body', 400, 'Invalid request body: idp: a SAML connection needs metadata_xml or entity_id, sso_url, certificates.');
      return toSamlIdp(idp);
    }
    if (!('issuer' in idp)) throw new AppError('invalid_body', 400, 'Invalid request body: idp: an OIDC connection needs issuer, client_id, client_secret.');
    assertIssuerAllowed(idp.issuer);
    return {
      issuer: idp.issuer.replace(/\/+$/, ''),
      client_id: idp.client_id,
      client_secret_sealed: idp.client_secret !== undefined ? this.secretBox.seal(idp.client_secret) : current.idp.client_secret_sealed,
      scopes: idp.scopes ?? current.idp.scopes,
    } satisfies OidcIdp;
  }

  private mapUnique(err: unknown, name: string, domains: string[]): unknown {
    if (!isUniqueViolation(err)) return err;
    const detail = String((err as { detail?: string; message?: string }).detail ?? (err as Error).message);
    if (/domain/.test(detail)) return domainClaimed(domains);
    return conflict('connection_exists', `A connection named "${name}" already exists.`);
  }
}

/** OIDC issuers are https; plain http only for loopback (development and tests). */
export function assertIssuerAllowed(issuer: string): void {
  const u = new URL(issuer);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) || u.hostname.startsWith('127.');
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
    throw new AppError('invalid_body', 400, 'Invalid request body: idp.issuer: must be https (http only for loopback hosts).');
  }
}
