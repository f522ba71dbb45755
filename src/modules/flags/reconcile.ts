import type { Db } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { notFound } from '../../platform/errors.js';
import type { Actor } from '../audit/types.js';
import { emptyRun, insertSyncRuns, type SyncRun } from '../reports/sync-runs.js';
import type { FlagWriter } from './writer.js';
import { inTransaction } from '../../platform/transaction.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reconcile: active members of organizations governed by the directory's connection whose user has
 * no SCIM user in that directory are flagged `not_in_directory`. One transaction, one sync run.
 */
export class ReconcileService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly writer: FlagWriter,
  ) {}

  async reconcile(directoryId: string, actor: Actor): Promise<SyncRun> {
    if (!UUID.test(directoryId)) throw notFound('Directory');
    return inTransaction(this.db, async (trx) => {
      const dir = await trx('directories').where({ id: directoryId.toLowerCase() }).first<{ id: string; connection_id: string } | undefined>();
      if (!dir) throw notFound('Directory');
      const at = this.clock.now().toISOString();
      const missing = await trx('memberships as m')
        .join('organizations as o', 'o.id', 'm.organization_id')
        .where({ 'o.connection_id': dir.connection_id, 'm.status': 'active' })
        .whereNotExists((sub) => {
          sub.select(trx.raw('1')).from('scim_users as s').where('s.directory_id', dir.id).where('s.user_id', trx.ref('m.user_id'));
        })
        .select<Array<{ organization_id: string; user_id: string }>>('m.organization_id', 'm.user_id');
      const flagged = await this.writer.flag(
        trx,
        missing.map((r) => ({ organizationId: r.organization_id, userId: r.user_id })),
        'not_in_directory',
        { channel: 'reconcile', action: 'reconcile: no user in the directory', at, directory_id: dir.id },
        actor,
      );
      const run = emptyRun({ id: this.ids.uuid(), trigger: 'reconcile', user_id: null, connection_id: dir.connection_id, directory_id: dir.id, at });
      run.flagged = flagged.map((k) => ({ organization_id: k.organizationId, reason: 'not_in_directory', user_id: k.userId }));
      await insertSyncRuns(trx, [run]);
      return run;
    });
  }
}
