import type { Executor } from '../../platform/db.js';
import { insertRows, parseJson } from '../../platform/db.js';
import type { AuditEvent } from './types.js';

export interface AuditRow {
  seq: number | string;
  id: string;
  at: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  organization_id: string | null;
  target_user_id: string | null;
  detail: string;
}

export async function insertAuditEvents(db: Executor, rows: Omit<AuditRow, 'seq'>[]): Promise<void> {
  if (rows.length === 0) return;
  // Chunked: SQLite caps bound parameters per statement.
  await insertRows(db, 'audit_events', rows);
}

export interface AuditFilter {
  organizationId?: string;
  userId?: string;
  action?: string;
  since?: string;
  afterSeq?: number;
  /** Paging backwards for newest-first views (the admin page). */
  beforeSeq?: number;
  order?: 'asc' | 'desc';
  /** Restricts to these organizations (an SSO-signed-in organization admin's view). */
  organizationIds?: string[];
  take: number;
}

export async function listAuditEvents(db: Executor, f: AuditFilter): Promise<AuditRow[]> {
  const q = db<AuditRow>('audit_events').orderBy('seq', f.order ?? 'asc').limit(f.take);
  if (f.organizationIds) q.whereIn('organization_id', f.organizationIds);
  if (f.organizationId) q.where('organization_id', f.organizationId);
  if (f.userId) q.where('target_user_id', f.userId);
  if (f.action) q.where('action', f.action);
  if (f.since) q.where('at', '>=', f.since);
  if (f.afterSeq !== undefined) q.where('seq', '>', f.afterSeq);
  if (f.beforeSeq !== undefined) q.where('seq', '<', f.beforeSeq);
  return q;
}

export function toAuditEvent(row: AuditRow): AuditEvent {
  return {
    id: row.id,
    at: row.at,
    actor: { type: row.actor_type as AuditEvent['actor']['type'], id: row.actor_id },
    action: row.action,
    organization_id: row.organization_id,
    target_user_id: row.target_user_id,
    detail: parseJson(row.detail, {}),
  };
}
