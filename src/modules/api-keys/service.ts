import type { Db } from '../../platform/db.js';
import { parseJson } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { randomToken, sha256 } from '../../platform/crypto.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import { ALL_SCOPES, type Scope } from '../../http/scopes.js';
import { toPage, type Page } from '../../platform/paging.js';
import { inTransaction } from '../../platform/transaction.js';

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

interface ApiKeyRow extends Omit<ApiKey, 'scopes'> {
  key_hash: string;
  scopes: string;
}

const toApiKey = ({ key_hash: _h, ...row }: ApiKeyRow): ApiKey => ({ ...row, scopes: parseJson<Scope[]>(row.scopes, []) });

/**
 * The key a management API request comes with. A key never exceeds its creator: it creates only
 * keys within its own scopes and revokes only such keys (or itself), so a key limited to
 * `create:api_keys` or `delete:api_keys` cannot mint or remove an admin key. The CLI and the
 * bootstrap act for the operator and pass no holder.
 */
export interface KeyHolder {
  id: string;
  scopes: readonly Scope[];
}

const beyondHolder = (holder: KeyHolder, scopes: readonly Scope[]): Scope[] => [...new Set(scopes)].filter((s) => !holder.scopes.includes(s));

const exceedsHolder = (verb: 'create' | 'revoke', missing: readonly Scope[]) =>
  new AppError(
    'insufficient_scope',
    403,
    `Insufficient scope; this key cannot ${verb} a key with scopes it does not hold itself: ${missing.join(', ')}.`,
  );

export class ApiKeyService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditService,
  ) {}

  /** Creates a key; the plaintext is returned once and only its hash is stored. */
  async create(input: { name: string; scopes: Scope[]; plaintext?: string }, actor: Actor, holder?: KeyHolder): Promise<ApiKey & { key: string }> {
    const missing = holder ? beyondHolder(holder, input.scopes) : [];
    if (missing.length) throw exceedsHolder('create', missing);
    const key = input.plaintext ?? randomToken('osk_');
    const now = this.clock.now().toISOString();
    const row: ApiKeyRow = {
      id: this.ids.uuid(),
      name: input.name,
      prefix: key.slice(0, 12),
      key_hash: sha256(key),
      scopes: JSON.stringify([...new Set(input.scopes)]),
      created_at: now,
      last_used_at: null,
      revoked_at: null,
    };
    await inTransaction(this.db, async (trx) => {
      await trx('api_keys').insert(row);
      await this.audit.record(trx, { action: 'api_key.created', actor, detail: { api_key_id: row.id, name: row.name, scopes: input.scopes } });
    });
    return { ...toApiKey(row), key };
  }

  async count(): Promise<number> {
    const row = await this.db('api_keys').count<{ n: number | string }[]>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }

  /** Creates the all-scopes key given by ORGSYNC_BOOTSTRAP_API_KEY, or a generated one, when no key exists yet. */
  async bootstrap(plaintext: string | undefined): Promise<{ key: string; generated: boolean } | undefined> {
    if ((await this.count()) > 0) return undefined;
    const created = await this.create({ name: plaintext ? 'bootstrap' : 'admin', scopes: [...ALL_SCOPES], plaintext }, { type: 'system', id: null });
    return { key: created.key, generated: !plaintext };
  }

  async authenticate(plaintext: string): Promise<ApiKey | undefined> {
    // Lookup by hash: equality on a digest leaks nothing useful about the key through timing.
    const row = await this.db<ApiKeyRow>('api_keys').where({ key_hash: sha256(plaintext) }).first();
    if (!row || row.revoked_at) return undefined;
    return toApiKey(row);
  }

  /** A live (not revoked) key by id: the admin page re-checks its key on every request. */
  async findActive(id: string): Promise<ApiKey | undefined> {
    const row = await this.db<ApiKeyRow>('api_keys').where({ id }).first();
    return row && !row.revoked_at ? toApiKey(row) : undefined;
  }

  async list(take: number, afterId?: string): Promise<Page<ApiKey>> {
    const q = this.db<ApiKeyRow>('api_keys').orderBy('id').limit(take + 1);
    if (afterId) q.where('id', '>', afterId);
    const page = toPage(await q, take, (r) => ({ id: r.id }));
    return { items: page.items.map(toApiKey), next: page.next };
  }

  async revoke(id: string, actor: Actor, holder?: KeyHolder): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const row = await trx<ApiKeyRow>('api_keys').where({ id }).first();
      if (!row || row.revoked_at) throw notFound('API key');
      const missing = holder && holder.id !== id ? beyondHolder(holder, toApiKey(row).scopes) : [];
      if (missing.length) throw exceedsHolder('revoke', missing);
      await trx('api_keys').where({ id }).update({ revoked_at: this.clock.now().toISOString() });
      await this.audit.record(trx, { action: 'api_key.revoked', actor, detail: { api_key_id: id, name: row.name } });
    });
  }
}

export const insufficientScope = (scopes: readonly string[]) =>
  new AppError('insufficient_scope', 403, `Insufficient scope; expected any of: ${scopes.join(',')}.`);
