import type { Db, Executor } from '../../platform/db.js';
import type { Clock } from '../../platform/clock.js';
import type { IdGenerator } from '../../platform/ids.js';
import { insertAuditEvents, listAuditEvents, toAuditEvent, type AuditFilter, type AuditRow } from './queries.js';
import type { AuditEvent, AuditInput } from './types.js';
import { toPage, type Page } from '../../platform/paging.js';
import { jsonOnce, NO_DETAIL } from '../../platform/json-once.js';

export class AuditService {
  constructor(private readonly db: Db, private readonly clock: Clock, private readonly ids: IdGenerator) {}

  /** Appends events; pass the transaction of the change so both commit or neither does. */
  async record(exec: Executor, ...inputs: AuditInput[]): Promise<void> {
    await insertAuditEvents(exec, this.rows(...inputs));
  }

  /** The rows `record` writes, for a caller that inserts them with its own rows (`insertBatch`). */
  rows(...inputs: AuditInput[]): Array<Omit<AuditRow, 'seq'>> {
    const at = this.clock.now().toISOString();
    const json = jsonOnce();
    return inputs.map((e) => ({
      id: this.ids.uuid(),
      at,
      actor_type: e.actor.type,
      actor_id: e.actor.id,
      action: e.action,
      organization_id: e.organizationId ?? null,
      target_user_id: e.targetUserId ?? null,
      detail: json(e.detail ?? NO_DETAIL),
    }));
  }

  async list(filter: Omit<AuditFilter, 'take'> & { take: number }): Promise<Page<AuditEvent>> {
    const rows = await listAuditEvents(this.db, { ...filter, take: filter.take + 1 });
    const page = toPage(rows, filter.take, (r) => ({ seq: Number(r.seq) }));
    return { items: page.items.map(toAuditEvent), next: page.next };
  }
}
