import type { Db } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import { AppError, isAppError } from '../../platform/errors.js';
import { inTransaction } from '../../platform/transaction.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';
import { releaseNamedLease, tryAcquireLease } from '../events/job-lease.js';
import { certificateChanges, type ConnectionService } from './service.js';
import { fetchIdpMetadata, jittered, toRefreshStatus, type MetadataRefreshStatus, type MetadataUrlSettings } from './metadata-url.js';
import * as mq from './metadata-queries.js';
import type { SamlIdp } from './schema.js';

export type RefreshTrigger = 'schedule' | 'manual';

export interface RefreshReport {
  connection_id: string;
  name: string;
  /** False: the metadata could not be used; the connection keeps its last good copy. */
  ok: boolean;
  /** Whether certificates or the SSO URL changed. */
  changed: boolean;
  certificates_added: string[];
  certificates_removed: string[];
  sso_url_changed: boolean;
  error: string | null;
  metadata_refresh: MetadataRefreshStatus;
}

const LEASE_TTL_MS = 60_000;
/** After a failure: one minute, doubling per failure, at most the refresh interval. */
const retryDelay = (failures: number, intervalMs: number) => jittered(Math.min(intervalMs, 60_000 * 2 ** Math.max(0, failures - 1)));

/**
 * Fetches a SAML connection's metadata URL again (on a schedule and on demand), under a lease so
 * one instance does it at a time. Every signing certificate in the new metadata is accepted and
 * those it no longer lists are not (rollover). A metadata that cannot be used — unreachable, not
 * 2xx, not metadata, expired, no certificate, another entity id — changes nothing but the shown
 * error: the connection keeps its last good metadata.
 */
export class SamlMetadataRefresher {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly connections: ConnectionService,
    private readonly settings: () => MetadataUrlSettings,
    private readonly owner: string,
  ) {}

  async refresh(idOrName: string, trigger: RefreshTrigger, actor: Actor): Promise<RefreshReport> {
    const c = await this.connections.require(this.db, idOrName);
    if (c.type !== 'saml' || !c.idp.metadata_url) {
      if (trigger === 'schedule') await mq.deleteRefreshState(this.db, c.id);
      throw new AppError('invalid_request', 400, 'This connection has no IdP metadata URL to refresh; set one with PATCH /connections/{id} {"idp": {"metadata_url": "…"}}.');
    }
    const url = c.idp.metadata_url;
    const lease = `saml-metadata:${c.id}`;
    if (!(await tryAcquireLease(this.db, lease, this.owner, this.clock.now(), LEASE_TTL_MS))) {
      throw new AppError('refresh_in_progress', 409, 'A refresh of this connection’s metadata is already running; try again in a minute.');
    }
    const intervalMs = this.settings().refreshSeconds * 1000;
    try {
      let fetched: SamlIdp & { valid_until: string | null };
      try {
        fetched = await fetchIdpMetadata(url, this.settings(), { entityId: c.idp.entity_id, now: this.clock.now() });
      } catch (err) {
        if (!isAppError(err)) throw err;
        const entityChanged = err.code === 'invalid_metadata' && /its entity id is|no EntityDescriptor for/.test(err.message);
        const error = entityChanged ? `${err.message} A changed entity id is never taken over from metadata: set the connection's IdP settings again to accept it.` : err.message;
        return await this.failed(c.id, c.name, url, error, trigger, actor, intervalMs);
      }
      return await inTransaction(this.db, async (trx) => {
        const now = this.clock.now();
        const current = await this.connections.require(trx, c.id);
        // The admin changed the IdP settings while we fetched: theirs win.
        if (current.type !== 'saml' || current.idp.metadata_url !== url || current.idp.entity_id !== fetched.entity_id) {
          throw new AppError('refresh_in_progress', 409, 'The connection’s IdP settings changed during the refresh; nothing was applied.');
        }
        const certs = certificateChanges(current.idp.certificates, fetched.certificates);
        const ssoUrlChanged = current.idp.sso_url !== fetched.sso_url;
        // The IdP's WantAuthnRequestsSigned decides signing for connections that leave it to the IdP.
        const wantsSigned = fetched.want_authn_requests_signed === true;
        const signingChanged = wantsSigned !== (current.idp.want_authn_requests_signed === true);
        const changed = ssoUrlChanged || signingChanged || certs.certificates_added !== undefined;
        if (changed) {
          const idp: SamlIdp = { entity_id: current.idp.entity_id, sso_url: fetched.sso_url, certificates: fetched.certificates, metadata_url: url, ...(wantsSigned ? { want_authn_requests_signed: true } : {}) };
          await trx('connections').where({ id: c.id }).update({ idp: JSON.stringify(idp), updated_at: now.toISOString() });
        }
        const at = now.toISOString();
        const row: mq.MetadataRefreshRow = { connection_id: c.id, next_refresh_at: new Date(now.getTime() + jittered(intervalMs)).toISOString(), last_attempt_at: at, last_success_at: at, last_error: null, failures: 0, valid_until: fetched.valid_until };
        await mq.upsertRefreshState(trx, row);
        if (changed || trigger === 'manual') {
          await this.audit.record(trx, {
            action: 'connection.metadata_refreshed',
            actor,
            detail: { connection_id: c.id, name: c.name, trigger, metadata_url: url, certificates_added: certs.certificates_added ?? [], certificates_removed: certs.certificates_removed ?? [], ...(ssoUrlChanged ? { sso_url: { from: current.idp.sso_url, to: fetched.sso_url } } : {}), ...(signingChanged ? { want_authn_requests_signed: wantsSigned } : {}) },
          });
        }
        return {
          connection_id: c.id,
          name: c.name,
          ok: true,
          changed,
          certificates_added: certs.certificates_added ?? [],
          certificates_removed: certs.certificates_removed ?? [],
          sso_url_changed: ssoUrlChanged,
          error: null,
          metadata_refresh: toRefreshStatus(url, row),
        };
      });
    } finally {
      await releaseNamedLease(this.db, lease, this.owner);
    }
  }

  /** Keeps the last good metadata; records the error (audited when it is a new one) and retries sooner. */
  private async failed(connectionId: string, name: string, url: string, error: string, trigger: RefreshTrigger, actor: Actor, intervalMs: number): Promise<RefreshReport> {
    return inTransaction(this.db, async (trx) => {
      const now = this.clock.now();
      const before = await mq.findRefreshState(trx, connectionId);
      const failures = (before?.failures ?? 0) + 1;
      const row: mq.MetadataRefreshRow = {
        connection_id: connectionId,
        next_refresh_at: new Date(now.getTime() + retryDelay(failures, intervalMs)).toISOString(),
        last_attempt_at: now.toISOString(),
        last_success_at: before?.last_success_at ?? null,
        last_error: error,
        failures,
        valid_until: before?.valid_until ?? null,
      };
      await mq.upsertRefreshState(trx, row);
      if (before?.last_error !== error || trigger === 'manual') {
        await this.audit.record(trx, { action: 'connection.metadata_refresh_failed', actor, detail: { connection_id: connectionId, name, trigger, metadata_url: url, error } });
      }
      return { connection_id: connectionId, name, ok: false, changed: false, certificates_added: [], certificates_removed: [], sso_url_changed: false, error, metadata_refresh: toRefreshStatus(url, row) };
    });
  }
}
