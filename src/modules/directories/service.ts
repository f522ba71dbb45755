import type { Db } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { constantTimeEqual, randomToken, sha256 } from '../../platform/crypto.js';
import { AppError, conflict, notFound } from '../../platform/errors.js';
import { isUniqueViolation } from '../../platform/db-errors.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import { toPage, type Page } from '../../platform/paging.js';
import type { Directory } from './schema.js';
import * as q from './queries.js';
import { TokenCache, type CachedToken } from './token-cache.js';
import { settingsView, syncStatus } from '../pull-directories/status.js';
import { inTransaction } from '../../platform/transaction.js';

/** The directory a SCIM request was authenticated for. */
export interface DirectoryContext {
  directoryId: string;
  connectionId: string;
}

export class DirectoryService {
  private readonly cache = new TokenCache();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditService,
    private readonly publicUrl: () => string,
  ) {}

  scimBaseUrl(id: string): string {
    return `${this.publicUrl()}/scim/v2/${id}`;
  }

  private async view(row: q.DirectoryRow): Promise<Directory> {
    const now = this.clock.now().toISOString();
    const kind = (row.kind ?? 'scim') as Directory['kind'];
    const tokens = await q.liveTokens(this.db, row.id, now);
    const counts = await q.resourceCounts(this.db, row);
    return {
      id: row.id,
      connection_id: row.connection_id,
      name: row.name,
      kind,
      scim_base_url: kind === 'scim' ? this.scimBaseUrl(row.id) : null,
      created_at: row.created_at,
      last_activity_at: row.last_activity_at,
      users: counts.users,
      groups: counts.groups,
      tokens: tokens.map((t) => ({ id: t.id, prefix: t.prefix, created_at: t.created_at, expires_at: t.expires_at })),
      settings: kind === 'scim' ? null : settingsView(row.pull_settings ?? null, !!row.pull_secret_sealed),
      sync: kind === 'scim' ? null : await syncStatus(this.db, row.id, now),
    };
  }

  /** Creates the connection's directory and its first token; the token is returned once, stored hashed. */
  async create(input: { connection_id: string; name?: string }, actor: Actor): Promise<Directory & { token: string }> {
    const now = this.clock.now().toISOString();
    const id = this.ids.uuid();
    const token = randomToken('osd_');
    try {
      await inTransaction(this.db, async (trx) => {
        const connection = await trx('connections').where({ id: input.connection_id }).first<{ name: string } | undefined>('name');
        if (!connection) throw new AppError('invalid_body', 400, `Invalid request body: connection_id: no connection ${input.connection_id}.`);
        if (await q.findDirectoryByConnection(trx, input.connection_id)) throw directoryExists();
        await q.insertDirectory(trx, { id, connection_id: input.connection_id, name: input.name ?? connection.name, created_at: now, last_activity_at: null });
        await q.insertToken(trx, this.tokenRow(id, token, now));
        await this.audit.record(trx, { action: 'directory.created', actor, detail: { directory_id: id, connection_id: input.connection_id } });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw directoryExists();
      throw err;
    }
    return { ...(await this.get(id)), token };
  }

  async get(id: string): Promise<Directory> {
    const row = await q.findDirectory(this.db, id);
    if (!row) throw notFound('Directory');
    return this.view(row);
  }

  async list(take: number, afterId?: string): Promise<Page<Directory>> {
    const page = toPage(await q.listDirectories(this.db, take + 1, afterId), take, (r) => ({ id: r.id }));
    return { items: await Promise.all(page.items.map((r) => this.view(r))), next: page.next };
  }

  /** Issues a new token; the current ones keep working for `graceSeconds` (0 = they stop now). */
  async rotate(id: string, graceSeconds: number, actor: Actor): Promise<Directory & { token: string }> {
    const now = this.clock.now();
    const nowIso = now.toISOString();
    const expiresAt = new Date(now.getTime() + graceSeconds * 1000).toISOString();
    const token = randomToken('osd_');
    await inTransaction(this.db, async (trx) => {
      const row = await q.findDirectory(trx, id);
      if (!row) throw notFound('Directory');
      if ((row.kind ?? 'scim') !== 'scim') throw conflict('not_a_scim_directory', 'This directory is pulled from the IdP and has no SCIM tokens.');
      await q.expireTokens(trx, id, nowIso, expiresAt);
      await q.insertToken(trx, this.tokenRow(id, token, nowIso));
      await this.audit.record(trx, { action: 'directory.token_rotated', actor, detail: { directory_id: id, grace_seconds: graceSeconds, previous_tokens_expire_at: expiresAt } });
    });
    this.cache.forgetDirectory(id);
    return { ...(await this.get(id)), token };
  }

  /**
   * The directory a bearer token opens, only if it is `directoryId` and the token is live. Looked up
   * by hash (equality on a digest leaks nothing useful through timing), then the directory ids are
   * compared in constant time so a token of another directory gets the same 401 as an unknown one.
   */
  async authenticate(directoryId: string, token: string): Promise<DirectoryContext | undefined> {
    const hash = sha256(token);
    const nowMs = this.clock.now().getTime();
    let entry: CachedToken | undefined = this.cache.get(hash, nowMs);
    if (!entry) {
      const row = await this.db('directory_tokens as t')
        .join('directories as d', 'd.id', 't.directory_id')
        .where('t.token_hash', hash)
        .first<{ directory_id: string; connection_id: string; expires_at: string | null } | undefined>('t.directory_id', 'd.connection_id', 't.expires_at');
      if (!row) return undefined;
      entry = { directoryId: row.directory_id, connectionId: row.connection_id, expiresAt: row.expires_at };
      this.cache.set(hash, entry, nowMs);
    }
    if (!constantTimeEqual(entry.directoryId, directoryId)) return undefined;
    if (entry.expiresAt !== null && Date.parse(entry.expiresAt) <= nowMs) return undefined;
    return { directoryId: entry.directoryId, connectionId: entry.connectionId };
  }

  private tokenRow(directoryId: string, token: string, now: string): q.DirectoryTokenRow {
    return { id: this.ids.uuid(), directory_id: directoryId, token_hash: sha256(token), prefix: token.slice(0, 12), created_at: now, expires_at: null };
  }
}

const directoryExists = () => conflict('directory_exists', 'This connection already has a directory.');
