import { inTransaction } from '../../platform/transaction.js';
import type { Db, Executor } from '../../platform/db.js';
import { toBool } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { randomToken, sha256 } from '../../platform/crypto.js';
import { AppError, notFound } from '../../platform/errors.js';
import { lockKeys } from '../../platform/transaction.js';
import { toPage, type Page } from '../../http/pagination.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import type { OrganizationService } from '../organizations/service.js';
import * as q from './queries.js';
import { DEFAULT_LIFETIME_SECONDS, type CreateSetupLinkInput, type Intent, type SetupLinkStatus, type SetupLinkView } from './schema.js';

export const TOKEN_PREFIX = 'osl_';

const governedBy = async (db: Executor, connectionId: string): Promise<number> =>
  Number((await db('organizations').where({ connection_id: connectionId }).count<{ n: number | string }[]>({ n: '*' }))[0]?.n ?? 0);

export const intentsOf = (r: q.SetupLinkRow): Intent[] => [...(toBool(r.intent_sso) ? (['sso'] as const) : []), ...(toBool(r.intent_directory) ? (['directory'] as const) : [])];

export function statusOf(r: q.SetupLinkRow, now: string): SetupLinkStatus {
  if (r.revoked_at) return 'revoked';
  if (r.finished_at) return 'finished';
  return r.expires_at <= now ? 'expired' : 'active';
}

export const setupLinkActor = (r: { id: string }): Actor => ({ type: 'setup_link', id: r.id });

/** Why a link no longer opens; the holder of the link may know, nobody else learns anything. */
const gone = (status: Exclude<SetupLinkStatus, 'active'>) =>
  new AppError(`setup_link_${status}`, 410, {
    expired: 'This setup link has expired. Ask your contact for a new one.',
    revoked: 'This setup link has been revoked. Ask your contact for a new one.',
    finished: 'This setup link has already been used to finish the setup.',
  }[status]);

export class SetupLinkService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditService,
    private readonly organizations: OrganizationService,
    private readonly publicUrl: () => string,
  ) {}

  view(r: q.SetupLinkRow): SetupLinkView {
    return {
      id: r.id,
      organization_id: r.organization_id,
      intents: intentsOf(r),
      status: statusOf(r, this.clock.now().toISOString()),
      created_at: r.created_at,
      expires_at: r.expires_at,
      revoked_at: r.revoked_at,
      finished_at: r.finished_at,
      last_used_at: r.last_used_at,
      connection_id: r.connection_id,
      directory_id: r.directory_id,
    };
  }

  /**
   * A new link; the URL carries the token and is returned only here. One live link per organization
   * and intent: a new one replaces (revokes) the live links it overlaps, so a lost URL can be re-issued.
   */
  async create(orgRef: string, input: CreateSetupLinkInput, actor: Actor): Promise<SetupLinkView & { url: string }> {
    const org = await this.organizations.getRow(orgRef);
    const intents = new Set(input.intents);
    if (!intents.has('sso') && !org.connection_id) {
      throw new AppError('organization_not_sso_enabled', 409, 'A directory-only setup link needs a connection governing the organization; include the "sso" intent.');
    }
    // A directory feeds its connection, and so every organization that connection governs: a link
    // for one organization must not reach the others.
    if (!intents.has('sso') && (await governedBy(this.db, org.connection_id!)) > 1) {
      throw new AppError('connection_governs_other_organizations', 409, "The organization's connection also governs other organizations; create its directory through the API instead.");
    }
    const token = randomToken(TOKEN_PREFIX, 32);
    const now = this.clock.now();
    const row: q.SetupLinkRow = {
      id: this.ids.uuid(),
      organization_id: org.id,
      token_hash: sha256(token),
      intent_sso: intents.has('sso'),
      intent_directory: intents.has('directory'),
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + (input.expires_in ?? DEFAULT_LIFETIME_SECONDS) * 1000).toISOString(),
      revoked_at: null,
      finished_at: null,
      last_used_at: null,
      created_by_type: actor.type,
      created_by_id: actor.id,
      draft: '{}',
      connection_id: null,
      directory_id: null,
    };
    await inTransaction(this.db, async (trx) => {
      // Two operators issuing links at once must not both end up live.
      await lockKeys(trx, [`setup-links:${org.id}`]);
      for (const old of await q.liveForOrganization(trx, org.id, row.created_at)) {
        if (!intentsOf(old).some((i) => intents.has(i))) continue;
        await q.updateSetupLink(trx, old.id, { revoked_at: row.created_at });
        await this.audit.record(trx, { action: 'setup_link.revoked', actor, organizationId: org.id, detail: { setup_link_id: old.id, reason: 'replaced', replaced_by: row.id } });
      }
      await q.insertSetupLink(trx, row);
      await this.audit.record(trx, { action: 'setup_link.created', actor, organizationId: org.id, detail: { setup_link_id: row.id, intents: [...intents], expires_at: row.expires_at } });
    });
    return { ...this.view(row), url: `${this.publicUrl()}/setup?link=${encodeURIComponent(token)}` };
  }

  async list(orgRef: string, take: number, afterId?: string): Promise<Page<SetupLinkView>> {
    const org = await this.organizations.getRow(orgRef);
    const page = toPage(await q.listForOrganization(this.db, org.id, take + 1, afterId), take, (r) => ({ id: r.id }));
    return { items: page.items.map((r) => this.view(r)), next: page.next };
  }

  async get(orgRef: string, id: string): Promise<SetupLinkView> {
    const org = await this.organizations.getRow(orgRef);
    const row = await q.findInOrganization(this.db, org.id, id);
    if (!row) throw notFound('Setup link');
    return this.view(row);
  }

  async revoke(orgRef: string, id: string, actor: Actor): Promise<void> {
    const org = await this.organizations.getRow(orgRef);
    await inTransaction(this.db, async (trx) => {
      const row = await q.findInOrganization(trx, org.id, id);
      if (!row) throw notFound('Setup link');
      if (row.revoked_at || row.finished_at) return;
      await q.updateSetupLink(trx, row.id, { revoked_at: this.clock.now().toISOString() });
      await this.audit.record(trx, { action: 'setup_link.revoked', actor, organizationId: org.id, detail: { setup_link_id: row.id } });
    });
  }

  /** The live link a token opens; unknown → 404, expired/revoked/finished → 410. */
  async openByToken(token: string): Promise<q.SetupLinkRow> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) throw notFound('Setup link');
    return this.assertLive(await q.findByTokenHash(this.db, sha256(token)));
  }

  /** The live link by id (from its signed cookie), re-checked on every request. */
  async live(db: Executor, id: string): Promise<q.SetupLinkRow> {
    return this.assertLive(await q.findById(db, id));
  }

  private assertLive(row: q.SetupLinkRow | undefined): q.SetupLinkRow {
    if (!row) throw notFound('Setup link');
    const status = statusOf(row, this.clock.now().toISOString());
    if (status !== 'active') throw gone(status);
    return row;
  }

  async touch(row: q.SetupLinkRow): Promise<void> {
    await q.updateSetupLink(this.db, row.id, { last_used_at: this.clock.now().toISOString() });
  }
}
