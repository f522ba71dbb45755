import type { Db } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { conflict, notFound } from '../../platform/errors.js';
import { isUniqueViolation } from '../../platform/db-errors.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import { toPage, type Page } from '../../platform/paging.js';
import type { Organization } from './schema.js';
import * as q from './queries.js';
import { inTransaction } from '../../platform/transaction.js';

export const toOrganization = (row: q.OrganizationRow): Organization => ({
  id: row.id,
  name: row.name,
  display_name: row.display_name,
  created_at: row.created_at,
  updated_at: row.updated_at,
  sso: { enabled: row.connection_id !== null, connection_id: row.connection_id },
});

const organizationExists = (name: string) => conflict('organization_exists', `An organization named "${name}" already exists.`);

export class OrganizationService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditService,
  ) {}

  async create(input: { name: string; display_name?: string }, actor: Actor): Promise<Organization> {
    const now = this.clock.now().toISOString();
    const row: q.OrganizationRow = {
      id: this.ids.uuid(),
      name: input.name,
      display_name: input.display_name ?? input.name,
      connection_id: null,
      created_at: now,
      updated_at: now,
    };
    try {
      await inTransaction(this.db, async (trx) => {
        await q.insertOrganization(trx, row);
        await this.audit.record(trx, { action: 'organization.created', actor, organizationId: row.id, detail: { name: row.name } });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw organizationExists(row.name);
      throw err;
    }
    return toOrganization(row);
  }

  async getRow(idOrName: string): Promise<q.OrganizationRow> {
    const row = await q.findOrganization(this.db, idOrName);
    if (!row) throw notFound('Organization');
    return row;
  }

  async get(idOrName: string): Promise<Organization> {
    return toOrganization(await this.getRow(idOrName));
  }

  async list(take: number, afterId?: string): Promise<Page<Organization>> {
    const page = toPage(await q.listOrganizations(this.db, take + 1, afterId), take, (r) => ({ id: r.id }));
    return { items: page.items.map(toOrganization), next: page.next };
  }

  async update(idOrName: string, patch: { name?: string; display_name?: string }, actor: Actor): Promise<Organization> {
    try {
      return await inTransaction(this.db, async (trx) => {
        const row = await q.findOrganization(trx, idOrName);
        if (!row) throw notFound('Organization');
        const next = { ...row, ...patch, updated_at: this.clock.now().toISOString() };
        await q.updateOrganization(trx, row.id, { name: next.name, display_name: next.display_name, updated_at: next.updated_at });
        await this.audit.record(trx, { action: 'organization.updated', actor, organizationId: row.id, detail: { changes: patch } });
        return toOrganization(next);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw organizationExists(patch.name ?? '');
      throw err;
    }
  }

  /** Deletes the organization and its memberships; user accounts are kept. */
  async delete(idOrName: string, actor: Actor): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const row = await q.findOrganization(trx, idOrName);
      if (!row) throw notFound('Organization');
      const members = await trx('memberships').where({ organization_id: row.id }).count<{ n: number | string }[]>({ n: '*' });
      await q.deleteOrganization(trx, row.id);
      await this.audit.record(trx, {
        action: 'organization.deleted',
        actor,
        organizationId: row.id,
        detail: { name: row.name, memberships_removed: Number(members[0]?.n ?? 0) },
      });
    });
  }
}
