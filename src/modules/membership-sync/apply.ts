import type { AuditService } from '../audit/service.js';
import type { Actor, AuditInput } from '../audit/types.js';
import type { EventInput, EventService } from '../events/service.js';
import type { FlagEvidence, Role } from '../memberships/types.js';
import type { Change } from './plan.js';
import type { IncompleteSync, SyncRun } from './sync-runs.js';
import type { WriteBatch } from './write-batch.js';
import { emptyRun } from '../reports/sync-runs.js';

export interface ApplyContext {
  userId: string;
  connectionId: string;
  trigger: SyncRun['trigger'];
  actor: Actor;
  at: string;
  /** The evidence stored with flags this run sets. */
  evidence: FlagEvidence;
  /** Set when the run's groups were incomplete: the run records why, and what it held back. */
  incomplete?: Omit<IncompleteSync, 'held'>;
  /** The pull run whose page caused this sync, if any. */
  pullRunId?: string;
}

/**
 * Writes a plan into the batch: batched membership writes, then one audit record and one event per
 * change, for the caller to flush in its transaction. Returns the sync run (not yet stored).
 */
export function applyPlan(
  batch: WriteBatch,
  deps: { audit: AuditService; events: EventService },
  ctx: ApplyContext,
  runId: string,
  changes: readonly Change[],
): SyncRun {
  const run: SyncRun = emptyRun({ id: runId, trigger: ctx.trigger, user_id: ctx.userId, connection_id: ctx.connectionId, directory_id: null, at: ctx.at, pull_run_id: ctx.pullRunId });
  const roleChanges = new Map<Role, string[]>();
  const keep: string[] = [];
  const held: IncompleteSync['held'] = [];
  for (const c of changes) {
    if (c.kind === 'add') run.added.push({ organization_id: c.organizationId, role: c.role });
    else if (c.kind === 'restore') run.restored.push({ organization_id: c.organizationId });
    else if (c.kind === 'role') {
      run.updated.push({ organization_id: c.organizationId, from_role: c.from, to_role: c.to });
      roleChanges.set(c.to, [...(roleChanges.get(c.to) ?? []), c.organizationId]);
    } else if (c.kind === 'flag') run.flagged.push({ organization_id: c.organizationId, reason: c.reason });
    else if (c.kind === 'skip') run.skipped.push({ organization_id: c.organizationId, reason: c.reason });
    else if (c.kind === 'hold') held.push({ organization_id: c.organizationId, withheld: c.withheld });
    else keep.push(c.organizationId);
  }
  if (ctx.incomplete) run.incomplete = { ...ctx.incomplete, held };

  // A SCIM-triggered grant (`scim_and_login`) records its channel as the membership's source.
  const source = ctx.trigger === 'scim' ? 'scim' : 'sso';
  const at = ctx.at;
  const user_id = ctx.userId;
  const orgs = (values: string[]) => ({ column: 'organization_id', values });
  batch.insert(
    'memberships',
    run.added.map((a) => ({ organization_id: a.organization_id, user_id, role: a.role, source, status: 'active', joined_at: at, last_synced_at: at })),
  );
  batch.update('memberships', { status: 'active', flagged_reason: null, flagged_at: null, flag_evidence: null, last_synced_at: at }, { user_id, status: 'flagged' }, orgs(run.restored.map((r) => r.organization_id)));
  for (const [role, orgIds] of roleChanges) batch.update('memberships', { role, last_synced_at: at }, { user_id }, orgs(orgIds));
  const flagReasons = new Map<string, string[]>();
  for (const f of run.flagged) flagReasons.set(f.reason, [...(flagReasons.get(f.reason) ?? []), f.organization_id]);
  for (const [reason, orgIds] of flagReasons) {
    batch.update('memberships', { status: 'flagged', flagged_reason: reason, flagged_at: at, flag_evidence: JSON.stringify(ctx.evidence), last_synced_at: at }, { user_id, status: 'active' }, orgs(orgIds));
  }
  batch.update('memberships', { last_synced_at: at }, { user_id }, orgs(keep));

  const audit: AuditInput[] = [];
  const events: EventInput[] = [];
  // Changes alike (every organization added with one role, say) share one detail object each for the
  // audit record and the event, which the services then serialize once (see jsonOnce).
  const details = new Map<string, { audit: Record<string, unknown>; event: Record<string, unknown> }>();
  const record = (action: EventInput['type'], organizationId: string, alike: string, detail: () => Record<string, unknown>) => {
    const key = `${action} ${alike}`;
    let shared = details.get(key);
    if (!shared) {
      const d = detail();
      shared = { audit: { ...d, sync_run_id: runId }, event: { ...d, trigger: ctx.trigger, connection_id: ctx.connectionId } };
      details.set(key, shared);
    }
    audit.push({ action, actor: ctx.actor, organizationId, targetUserId: ctx.userId, detail: shared.audit });
    events.push({ type: action, organizationId, userId: ctx.userId, data: shared.event });
  };
  for (const a of run.added) record('membership.added', a.organization_id, a.role, () => ({ role: a.role, source }));
  for (const r of run.restored) record('membership.restored', r.organization_id, '', () => ({}));
  for (const u of run.updated) record('membership.role_changed', u.organization_id, `${u.from_role} ${u.to_role}`, () => ({ from_role: u.from_role, to_role: u.to_role }));
  for (const f of run.flagged) record('membership.flagged', f.organization_id, f.reason, () => ({ reason: f.reason, evidence: ctx.evidence }));
  batch.insert('audit_events', deps.audit.rows(...audit));
  batch.insert('events', deps.events.rows(...events));
  return run;
}

export const changedSomething = (run: SyncRun): boolean =>
  run.added.length + run.updated.length + run.flagged.length + run.restored.length + run.skipped.length > 0 || run.incomplete !== null;
