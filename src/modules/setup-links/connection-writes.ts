import type { Executor } from '../../platform/db.js';
import type { AuditService } from '../audit/service.js';
import type { Actor } from '../audit/types.js';

/** A domain proven by DNS joins the connection's verified domains (the unique key settles races). */
export async function addVerifiedDomain(trx: Executor, audit: AuditService, connectionId: string, domain: string, actor: Actor): Promise<void> {
  await trx('connection_domains').insert({ domain, connection_id: connectionId }).onConflict('domain').ignore();
  const owner = await trx('connection_domains').where({ domain }).first<{ connection_id: string } | undefined>('connection_id');
  if (owner?.connection_id !== connectionId) return;
  await audit.record(trx, { action: 'connection.domain_verified', actor, detail: { connection_id: connectionId, domain, method: 'dns_txt' } });
}
