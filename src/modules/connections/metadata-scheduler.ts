import type { Db } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/logger.js';
import { IntervalJob } from '../../platform/interval-job.js';
import { systemActor } from '../audit/types.js';
import { dueRefreshes } from './metadata-queries.js';
import type { SamlMetadataRefresher } from './metadata-refresh.js';

/**
 * Refreshes SAML metadata URLs when their `next_refresh_at` comes. Every server instance runs this
 * timer; the per-connection lease in `job_locks` lets one of them fetch each connection.
 */
export class MetadataRefreshScheduler extends IntervalJob {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly refresher: SamlMetadataRefresher,
    tickMs = 60_000,
  ) {
    super(tickMs);
  }

  /** One pass over the due connections, one at a time. */
  async tick(): Promise<void> {
    let due: Array<{ connection_id: string }>;
    try {
      due = await dueRefreshes(this.db, this.clock.now().toISOString(), 20);
    } catch (err) {
      this.logger.error({ err }, 'metadata refresh tick failed');
      return;
    }
    for (const d of due) {
      if (this.stopped) return;
      try {
        const report = await this.refresher.refresh(d.connection_id, 'schedule', systemActor);
        if (!report.ok) this.logger.warn({ connection_id: d.connection_id, error: report.error }, 'IdP metadata refresh failed; the last good metadata stays in use');
      } catch (err) {
        // Another instance holds the lease, or the settings changed meanwhile: its turn comes again.
        this.logger.debug({ err, connection_id: d.connection_id }, 'IdP metadata refresh skipped');
      }
    }
  }
}
