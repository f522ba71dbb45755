import type { Db, Executor } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import type { SecretBox } from '../../platform/crypto.js';
import { AppError, conflict, notFound } from '../../platform/errors.js';
import { isUniqueViolation } from '../../platform/db-errors.js';
import { inTransaction } from '../../platform/transaction.js';
import type { AuditService } from '../audit/service.js';
import { systemActor, type Actor } from '../audit/types.js';
import { findConnectionRow } from './queries.js';
import * as q from './sp-key-queries.js';
import { fingerprintOf } from '../../platform/x509.js';
import { generateRsaKeyPair, generateSpKey, toKeyViews, usesOf, type KeyPairSource, type NewSpKey, type SpKeySet, type SpKeyUse, type SpKeyView, type UsableSpKey } from './sp-keys.js';

/** The part of a connection the key store needs. */
export interface KeyOwner {
  id: string;
  name: string;
  type: 'saml' | 'oidc';
}

const MAX_OVERLAP_SECONDS = 366 * 24 * 3600;

/**
 * The service provider keys of each connection: generated here, private halves sealed with the
 * secret box and opened only to sign or decrypt, rotated with an overlap, retired for good.
 */
export class SpKeyService {
  /** Key completions under way, by connection (see completeOnce). */
  private readonly completing = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditService,
    private readonly secretBox: SecretBox,
    private readonly keyPairs: KeyPairSource = generateRsaKeyPair,
  ) {}

  /** Keys for a new connection, made before its transaction (key generation takes a while). */
  generateInitial(type: 'saml' | 'oidc', name: string): Promise<NewSpKey[]> {
    const now = this.clock.now();
    return Promise.all(usesOf(type).map((use) => generateSpKey(use, name, now, this.keyPairs)));
  }

  /** Stores a connection's first keys inside the transaction that creates it. */
  async storeInitial(trx: Executor, connectionId: string, keys: NewSpKey[]): Promise<SpKeyView[]> {
    const now = this.clock.now().toISOString();
    const rows = keys.map((k) => this.row(connectionId, k, now));
    for (const row of rows) await q.insertKey(trx, row);
    return toKeyViews(rows);
  }

  /**
   * The keys to sign and decrypt with. A connection made before SP keys existed gets its keys at
   * first use; a previous key whose overlap ended counts for nothing from that instant, and is
   * deleted (and audited) at the first use after it.
   */
  async keysFor(owner: KeyOwner): Promise<SpKeySet> {
    const now = this.clock.now().toISOString();
    const state = await this.keyState(owner, now);
    let rows = state.rows;
    if (state.missing.length || state.expired) {
      await this.completeOnce(owner, now);
      rows = await q.liveKeys(this.db, owner.id, now);
    }
    const usable = (use: SpKeyUse): UsableSpKey[] =>
      rows.filter((r) => r.use === use).map((r) => ({ id: r.id, kid: r.kid, status: r.status, certificate: r.certificate, privateKeyPem: () => this.secretBox.open(r.private_key_sealed) }));
    return { signing: usable('signing'), encryption: usable('encryption') };
  }

  /**
   * Makes the missing keys and drops the expired ones, once per connection at a time in this process:
   * the requests that find keys missing meanwhile (anonymous metadata and JWKS fetches among them)
   * wait for that one instead of each generating RSA keys.
   */
  private completeOnce(owner: KeyOwner, now: string): Promise<void> {
    let pending = this.completing.get(owner.id);
    if (!pending) {
      pending = this.complete(owner, now).finally(() => this.completing.delete(owner.id));
      this.completing.set(owner.id, pending);
    }
    return pending;
  }

  /** A connection's keys that count at `now`, the uses it has no current key for, and whether any expired. */
  private async keyState(owner: KeyOwner, now: string): Promise<{ rows: q.SpKeyRow[]; missing: SpKeyUse[]; expired: boolean }> {
    const all = await q.allKeys(this.db, owner.id);
    const rows = all.filter((r) => r.retire_after === null || r.retire_after > now);
    const missing = usesOf(owner.type).filter((use) => !rows.some((r) => r.use === use && r.status === 'current'));
    return { rows, missing, expired: rows.length !== all.length };
  }

  private async complete(owner: KeyOwner, now: string): Promise<void> {
    // Read again: a request that found keys missing just before another completion committed them
    // arrives here once that completion is over, and must not make a second set.
    const { missing, expired } = await this.keyState(owner, now);
    if (!missing.length && !expired) return;
    const made = await Promise.all(missing.map((use) => generateSpKey(use, owner.name, this.clock.now(), this.keyPairs)));
    try {
      await inTransaction(this.db, async (trx) => {
        if (!(await findConnectionRow(trx, owner.id))) throw notFound('Connection');
        await this.dropExpired(trx, owner, now);
        const live = await q.liveKeys(trx, owner.id, now);
        for (const key of made) {
          if (live.some((r) => r.use === key.use && r.status === 'current')) continue;
          const row = this.row(owner.id, key, now);
          await q.insertKey(trx, row);
          await this.audit.record(trx, { action: 'connection.sp_key_created', actor: systemActor, detail: { connection_id: owner.id, name: owner.name, use: key.use, key_id: row.id, kid: key.kid, fingerprint_sha256: fingerprintOf(key.certificate) } });
        }
      });
    } catch (err) {
      // Another instance made them first: use those.
      if (!isUniqueViolation(err)) throw err;
    }
  }

  async list(owner: KeyOwner): Promise<SpKeyView[]> {
    await this.keysFor(owner);
    return toKeyViews(await q.liveKeys(this.db, owner.id, this.clock.now().toISOString()));
  }

  /**
   * A new current key for each use asked for, published at once; the old one stays as `previous`
   * (published, still decrypting, and still the one that signs: see signingKeyOf) until it is
   * retired, or until `overlap_seconds` have passed when given.
   */
  async rotate(owner: KeyOwner, input: { use?: SpKeyUse; overlap_seconds?: number | null }, actor: Actor): Promise<SpKeyView[]> {
    const uses = this.usesAsked(owner, input.use);
    const overlap = input.overlap_seconds ?? null;
    if (overlap !== null && (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_OVERLAP_SECONDS)) {
      throw new AppError('invalid_body', 400, `Invalid request body: overlap_seconds: a whole number from 0 to ${MAX_OVERLAP_SECONDS}, or null to keep the previous key until it is retired.`);
    }
    await this.keysFor(owner);
    // Refused before any key is generated (RSA work), and checked again in the transaction (races).
    const before = await q.liveKeys(this.db, owner.id, this.clock.now().toISOString());
    for (const use of uses) assertNoPendingRotation(owner, use, before);
    const made = await Promise.all(uses.map((use) => generateSpKey(use, owner.name, this.clock.now(), this.keyPairs)));
    await inTransaction(this.db, async (trx) => {
      const now = this.clock.now();
      const at = now.toISOString();
      await this.dropExpired(trx, owner, at);
      const live = await q.liveKeys(trx, owner.id, at);
      for (const key of made) {
        assertNoPendingRotation(owner, key.use, live);
        const old = live.find((r) => r.use === key.use && r.status === 'current');
        const retireAfter = overlap === null ? null : new Date(now.getTime() + overlap * 1000).toISOString();
        await q.demoteCurrent(trx, owner.id, key.use, at, retireAfter);
        const row = this.row(owner.id, key, at);
        await q.insertKey(trx, row);
        await this.audit.record(trx, {
          action: 'connection.sp_key_rotated',
          actor,
          detail: { connection_id: owner.id, name: owner.name, use: key.use, key_id: row.id, kid: key.kid, fingerprint_sha256: fingerprintOf(key.certificate), previous_key_id: old?.id ?? null, retire_after: retireAfter },
        });
      }
    });
    return toKeyViews(await q.liveKeys(this.db, owner.id, this.clock.now().toISOString()));
  }

  /** Deletes previous keys (all of the uses asked for, or the one named): they stop decrypting and leave the metadata. */
  async retire(owner: KeyOwner, input: { use?: SpKeyUse; key_id?: string }, actor: Actor): Promise<SpKeyView[]> {
    const uses = this.usesAsked(owner, input.use);
    await inTransaction(this.db, async (trx) => {
      const at = this.clock.now().toISOString();
      await this.dropExpired(trx, owner, at);
      const live = await q.liveKeys(trx, owner.id, at);
      let retiring = live.filter((r) => r.status === 'previous' && uses.includes(r.use));
      if (input.key_id !== undefined) {
        const named = live.find((r) => r.id === input.key_id);
        if (!named) throw notFound('SP key');
        if (named.status === 'current') throw conflict('sp_key_current', `Key ${named.id} is the current ${named.use} key: rotate first, then retire the previous one.`);
        retiring = [named];
      }
      if (retiring.length === 0) throw conflict('no_previous_sp_key', `There is no previous ${input.use ?? ''}${input.use ? ' ' : ''}key to retire: the connection has only its current keys.`);
      await q.deleteKeys(trx, owner.id, retiring.map((r) => r.id));
      for (const r of retiring) {
        await this.audit.record(trx, { action: 'connection.sp_key_retired', actor, detail: { connection_id: owner.id, name: owner.name, use: r.use, key_id: r.id, kid: r.kid, fingerprint_sha256: fingerprintOf(r.certificate), reason: 'retired' } });
      }
    });
    return toKeyViews(await q.liveKeys(this.db, owner.id, this.clock.now().toISOString()));
  }

  private usesAsked(owner: KeyOwner, use: SpKeyUse | undefined): SpKeyUse[] {
    const all = usesOf(owner.type);
    if (use === undefined) return all;
    if (!all.includes(use)) throw new AppError('invalid_body', 400, `Invalid request body: use: an ${owner.type.toUpperCase()} connection has no ${use} key.`);
    return [use];
  }

  /** Previous keys whose overlap ran out: deleted, and the audit log says so. */
  private async dropExpired(trx: Executor, owner: KeyOwner, at: string): Promise<void> {
    for (const r of await q.deleteExpired(trx, owner.id, at)) {
      await this.audit.record(trx, { action: 'connection.sp_key_retired', actor: systemActor, detail: { connection_id: owner.id, name: owner.name, use: r.use, key_id: r.id, kid: r.kid, fingerprint_sha256: fingerprintOf(r.certificate), reason: 'overlap_ended' } });
    }
  }

  private row(connectionId: string, key: NewSpKey, at: string): q.SpKeyRow {
    return {
      id: this.ids.uuid(),
      connection_id: connectionId,
      use: key.use,
      status: 'current',
      kid: key.kid,
      certificate: key.certificate,
      private_key_sealed: this.secretBox.seal(key.privateKeyPem),
      created_at: at,
      rotated_at: null,
      retire_after: null,
    };
  }
}

/** A second rotation waits until the previous key of that use is retired. */
function assertNoPendingRotation(owner: KeyOwner, use: SpKeyUse, live: ReadonlyArray<{ use: string; status: string; rotated_at: string | null; retire_after: string | null }>): void {
  const pending = live.find((r) => r.use === use && r.status === 'previous');
  if (!pending) return;
  throw conflict(
    'sp_key_rotation_in_progress',
    `The ${use} key was already rotated (${pending.rotated_at}) and the previous one is still published${pending.retire_after ? ` until ${pending.retire_after}` : ''}. Retire it first (POST /api/v1/connections/${owner.id}/sp-keys/retire).`,
  );
}
