import { describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/modules/membership-sync/apply.js';
import { WriteBatch } from '../../src/modules/membership-sync/write-batch.js';
import { AuditService } from '../../src/modules/audit/service.js';
import { EventService } from '../../src/modules/events/service.js';
import { jsonOnce } from '../../src/platform/json-once.js';
import type { Change } from '../../src/modules/membership-sync/plan.js';
import type { Db } from '../../src/platform/db.js';

/** The audit records and events one login sync writes: one each per change, each with its own detail. */
describe('applyPlan: audit records and events', () => {
  it('gives every change its own detail, also where changes alike share one serialized object', () => {
    let n = 0;
    const ids = { uuid: () => `id-${++n}` };
    const clock = { now: () => new Date('2026-05-01T10:00:00.000Z') };
    const deps = { audit: new AuditService(null as unknown as Db, clock, ids), events: new EventService(null as unknown as Db, clock, ids) };
    const evidence = { channel: 'scim' as const, action: 'PATCH active=false', at: '2026-05-01T09:59:00.000Z' };
    const changes: Change[] = [
      { kind: 'add', organizationId: 'o1', role: 'member' },
      { kind: 'add', organizationId: 'o2', role: 'admin' },
      { kind: 'add', organizationId: 'o3', role: 'member' },
      { kind: 'restore', organizationId: 'o4' },
      { kind: 'role', organizationId: 'o5', from: 'member', to: 'admin' },
      { kind: 'role', organizationId: 'o6', from: 'admin', to: 'member' },
      { kind: 'flag', organizationId: 'o7', reason: 'idp_deactivated' },
      { kind: 'flag', organizationId: 'o8', reason: 'idp_group_removed' },
      { kind: 'keep', organizationId: 'o9' },
    ];
    const batch = new WriteBatch();
    const ctx = { userId: 'u1', connectionId: 'c1', trigger: 'login' as const, actor: { type: 'login' as const, id: 'u1' }, at: '2026-05-01T10:00:00.000Z', evidence };
    applyPlan(batch, deps, ctx, 'run-1', changes);
    const steps = (batch as unknown as { steps: Array<{ table: string; rows: Array<Record<string, string>> }> }).steps;
    const audit = steps.find((s) => s.table === 'audit_events')!.rows.map((r) => [r.action, r.organization_id, JSON.parse(r.detail!)]);
    const events = steps.find((s) => s.table === 'events')!.rows.map((r) => [r.type, r.organization_id, JSON.parse(r.data!)]);
    const shared = { trigger: 'login', connection_id: 'c1' };
    expect(audit).toEqual([
      ['membership.added', 'o1', { role: 'member', source: 'sso', sync_run_id: 'run-1' }],
      ['membership.added', 'o2', { role: 'admin', source: 'sso', sync_run_id: 'run-1' }],
      ['membership.added', 'o3', { role: 'member', source: 'sso', sync_run_id: 'run-1' }],
      ['membership.restored', 'o4', { sync_run_id: 'run-1' }],
      ['membership.role_changed', 'o5', { from_role: 'member', to_role: 'admin', sync_run_id: 'run-1' }],
      ['membership.role_changed', 'o6', { from_role: 'admin', to_role: 'member', sync_run_id: 'run-1' }],
      ['membership.flagged', 'o7', { reason: 'idp_deactivated', evidence, sync_run_id: 'run-1' }],
      ['membership.flagged', 'o8', { reason: 'idp_group_removed', evidence, sync_run_id: 'run-1' }],
    ]);
    expect(events).toEqual([
      ['membership.added', 'o1', { role: 'member', source: 'sso', ...shared }],
      ['membership.added', 'o2', { role: 'admin', source: 'sso', ...shared }],
      ['membership.added', 'o3', { role: 'member', source: 'sso', ...shared }],
      ['membership.restored', 'o4', shared],
      ['membership.role_changed', 'o5', { from_role: 'member', to_role: 'admin', ...shared }],
      ['membership.role_changed', 'o6', { from_role: 'admin', to_role: 'member', ...shared }],
      ['membership.flagged', 'o7', { reason: 'idp_deactivated', evidence, ...shared }],
      ['membership.flagged', 'o8', { reason: 'idp_group_removed', evidence, ...shared }],
    ]);
    // Every record and event has an id of its own.
    expect(new Set([...steps.find((s) => s.table === 'audit_events')!.rows, ...steps.find((s) => s.table === 'events')!.rows].map((r) => r.id)).size).toBe(16);
  });

  it('jsonOnce serializes an object once, and different objects each as themselves', () => {
    const json = jsonOnce();
    const a = { x: 1 };
    const b = { x: 2 };
    expect([json(a), json(b), json(a)]).toEqual(['{"x":1}', '{"x":2}', '{"x":1}']);
    a.x = 3; // not supported while in use: the first text stays
    expect(json(a)).toBe('{"x":1}');
    expect(jsonOnce()(a)).toBe('{"x":3}');
  });
});
