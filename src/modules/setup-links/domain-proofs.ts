import { inTransaction } from '../../platform/transaction.js';
import type { Db, Executor, Trx } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { randomToken } from '../../platform/crypto.js';
import { conflict, notFound } from '../../platform/errors.js';
import { claimedDomains } from '../connections/queries.js';
import { challengeRecordName, type DnsCheck, type DnsProver } from './dns-proof.js';
import * as q from './queries.js';

export interface DomainOwner {
  kind: q.ChallengeRow['owner_kind'];
  id: string;
  /** The connection the domain would belong to (null while a setup link has none yet). */
  connectionId: string | null;
}

export interface ChallengeView {
  domain: string;
  status: 'pending' | 'verified';
  record_type: 'TXT';
  record_name: string;
  record_value: string;
  last_checked_at: string | null;
  verified_at: string | null;
}

export type CheckOutcome = { view: ChallengeView; check: DnsCheck | { kind: 'already_verified' } };

/** Says only that the domain is taken: whose it is belongs to another tenant. */
export const domainAlreadyClaimed = (domain: string) =>
  conflict('domain_already_claimed', `Domain ${domain} is already verified for another connection.`);

export const toChallengeView = (r: q.ChallengeRow): ChallengeView => ({
  domain: r.domain,
  status: r.status,
  record_type: 'TXT',
  record_name: challengeRecordName(r.domain),
  record_value: r.value,
  last_checked_at: r.last_checked_at,
  verified_at: r.verified_at,
});

/** DNS TXT proof of domain control, shared by operator connections and setup links. */
export class DomainProofService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly prover: DnsProver,
  ) {}

  async assertUnclaimed(db: Executor, owner: DomainOwner, domain: string): Promise<void> {
    // '' matches no connection id, so every existing claim counts while the owner has none.
    if ((await claimedDomains(db, [domain], owner.connectionId ?? '')).length) throw domainAlreadyClaimed(domain);
  }

  /** The challenge for `domain`, created on first request; refused at once for a claimed domain. */
  async request(owner: DomainOwner, domain: string): Promise<ChallengeView> {
    return inTransaction(this.db, async (trx) => {
      await this.assertUnclaimed(trx, owner, domain);
      const existing = await q.findChallenge(trx, owner.kind, owner.id, domain);
      if (existing) return toChallengeView(existing);
      const row: q.ChallengeRow = {
        id: this.ids.uuid(),
        owner_kind: owner.kind,
        owner_id: owner.id,
        domain,
        value: `orgsync-domain-verification=${randomToken('', 24)}`,
        status: 'pending',
        created_at: this.clock.now().toISOString(),
        last_checked_at: null,
        verified_at: null,
      };
      await q.insertChallenge(trx, row);
      return toChallengeView(row);
    });
  }

  async list(db: Executor, owner: DomainOwner): Promise<ChallengeView[]> {
    return (await q.challengesOf(db, owner.kind, owner.id)).map(toChallengeView);
  }

  async remove(owner: DomainOwner, domain: string): Promise<void> {
    const row = await q.findChallenge(this.db, owner.kind, owner.id, domain);
    if (!row) throw notFound('Domain');
    await q.deleteChallenge(this.db, row.id);
  }

  /**
   * Looks the record up (outside any transaction: DNS can be slow), then records the result.
   * `onVerified` runs in the same transaction that marks the challenge verified.
   */
  async check(owner: DomainOwner, domain: string, onVerified?: (trx: Trx) => Promise<void>): Promise<CheckOutcome> {
    const row = await q.findChallenge(this.db, owner.kind, owner.id, domain);
    if (!row) throw notFound('Domain');
    if (row.status === 'verified') return { view: toChallengeView(row), check: { kind: 'already_verified' } };
    const check = await this.prover.check(domain, row.value);
    const now = this.clock.now().toISOString();
    return inTransaction(this.db, async (trx) => {
      const patch: Partial<q.ChallengeRow> = { last_checked_at: now };
      if (check.kind === 'found') {
        await this.assertUnclaimed(trx, owner, domain);
        Object.assign(patch, { status: 'verified', verified_at: now });
        await onVerified?.(trx);
      }
      await q.updateChallenge(trx, row.id, patch);
      return { view: toChallengeView({ ...row, ...patch }), check };
    });
  }
}
