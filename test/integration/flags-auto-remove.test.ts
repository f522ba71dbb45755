import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Builder } from '../helpers/builders.js';
import { ManualClock } from '../../src/platform/clock.js';
import { AutoRemoveJob } from '../../src/modules/flags/auto-remove.js';

let t: TestApp;
let b: Builder;
let clock: ManualClock;
beforeEach(async () => {
  clock = new ManualClock(new Date('2026-03-01T00:00:00.000Z'));
  t = await startTestApp({ clock });
  b = new Builder(t.container.db, () => clock.now().toISOString());
});
afterEach(async () => {
  await t.close();
});

describe('auto_remove_flagged_after_days', () => {
  it('removes memberships flagged longer than the connection allows, once across instances', async () => {
    const auto = await b.connection({ auto_remove_flagged_after_days: 7 });
    const off = await b.connection();
    const org = await b.organization({ name: 'auto', connection_id: auto.id });
    const keep = await b.organization({ name: 'keep', connection_id: off.id });
    const [old, recent, active] = [await b.user(), await b.user(), await b.user()];
    await b.membership({ organization_id: org.id, user_id: old.id, flagged: { reason: 'idp_deactivated', at: '2026-02-20T00:00:00.000Z' } });
    await b.membership({ organization_id: org.id, user_id: recent.id, flagged: { reason: 'idp_deleted', at: '2026-02-27T00:00:00.000Z' } });
    await b.membership({ organization_id: org.id, user_id: active.id });
    await b.membership({ organization_id: keep.id, user_id: old.id, flagged: { reason: 'idp_deactivated', at: '2025-01-01T00:00:00.000Z' } });

    const deps = t.container;
    const a = new AutoRemoveJob(deps, 'instance-a', 60_000);
    const other = new AutoRemoveJob(deps, 'instance-b', 60_000);
    expect(await a.runOnce()).toEqual({ kind: 'ran', removed: 1 });
    // The other instance finds the lease held for this interval.
    expect(await other.runOnce()).toEqual({ kind: 'skipped', reason: 'lease_held' });

    expect(await t.container.db('memberships').where({ organization_id: org.id }).pluck('user_id')).toEqual(expect.arrayContaining([recent.id, active.id]));
    expect(await t.container.db('memberships').where({ organization_id: org.id })).toHaveLength(2);
    // Connections that do not set it are never touched; the account stays.
    expect(await t.container.db('memberships').where({ organization_id: keep.id })).toHaveLength(1);
    expect(await t.container.db('users').where({ id: old.id }).first()).toBeTruthy();
    const audit = await t.api('GET', '/api/v1/audit-logs?action=membership.removed');
    expect(audit.body.audit_logs).toMatchObject([{ actor: { type: 'system', id: null }, target_user_id: old.id, detail: { auto_remove_flagged_after_days: 7 } }]);
    expect(await t.container.db('removal_records').where({ organization_id: org.id, user_id: old.id }).first()).toBeTruthy();

    clock.advance(6 * 86_400_000);
    expect(await other.runOnce()).toEqual({ kind: 'ran', removed: 1 });
    expect(await t.container.db('memberships').where({ organization_id: org.id }).pluck('user_id')).toEqual([active.id]);
  });

  it('runs on its timer and stops cleanly', async () => {
    const conn = await b.connection({ auto_remove_flagged_after_days: 1 });
    const org = await b.organization({ connection_id: conn.id });
    const u = await b.user();
    await b.membership({ organization_id: org.id, user_id: u.id, flagged: { reason: 'idp_deleted', at: '2026-01-01T00:00:00.000Z' } });
    const job = new AutoRemoveJob(t.container, 'timer', 60_000);
    job.start();
    await job.stop();
    expect(await t.container.db('memberships').where({ organization_id: org.id })).toHaveLength(0);
  });
});
