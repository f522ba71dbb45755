import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createLoginService } from '../../src/modules/sso/complete-login.js';
import type { LoginProfile } from '../../src/modules/sso/login-profile.js';
import type { Connection } from '../../src/modules/connections/schema.js';
import type { ManualClock } from '../../src/platform/clock.js';

/**
 * A sign-in writes its user, identity, memberships, audit records, events and sync run together (in
 * one statement on PostgreSQL): every row exactly once, in order, for a user in 400 organizations.
 */
const CERT = readFileSync(new URL('../../fixtures/saml/keys/idp-test-only.crt', import.meta.url), 'utf8');
const actor = { type: 'system' as const, id: null };
const N = 400;

let t: TestApp;
let clock: ManualClock;
let orgIds: string[];
let conn: Connection;
beforeEach(async () => {
  t = await startTestApp();
  clock = t.clock as ManualClock;
  const at = clock.now().toISOString();
  const orgs = Array.from({ length: N }, (_, i) => ({ id: t.container.ids.uuid(), name: `org-${String(i).padStart(3, '0')}`, display_name: `Org ${i}`, created_at: at, updated_at: at }));
  for (let i = 0; i < orgs.length; i += 100) await t.container.db('organizations').insert(orgs.slice(i, i + 100));
  orgIds = orgs.map((o) => o.id);
  // Even organizations for group A, odd ones for group B; org-001 also grants owner to group C.
  const rules = [
    ...orgs.map((o, i) => ({ organization: o.name, role: 'member' as const, groups: [i % 2 === 0 ? 'A' : 'B'] })),
    { organization: orgs[1]!.name, role: 'owner' as const, groups: ['C'] },
  ];
  const created = await t.container.connections.create({ name: 'wide', type: 'saml', domains: ['wide.example'], idp: { entity_id: 'urn:wide', sso_url: 'https://idp.wide.example/sso', certificates: [CERT] }, membership_rules: rules }, actor);
  conn = (await t.container.connections.load(t.container.db, created.id))!;
});
afterEach(async () => {
  await t.close();
});

const profile = (groups: string[]): LoginProfile => ({ protocol: 'saml', subject: 'pat@wide.example', email: 'pat@wide.example', emailVerified: null, name: 'Pat', givenName: null, familyName: null, groups, groupsIncomplete: null, externalId: 'pat@wide.example', hostedDomain: null });

async function signIn(groups: string[]) {
  clock.advance(60_000);
  return createLoginService(t.container).login(conn, profile(groups));
}

const db = () => t.container.db;
const auditOf = async (userId: string, afterSeq = 0) =>
  (await db()('audit_events').where('target_user_id', userId).where('seq', '>', afterSeq).orderBy('seq').select('seq', 'action', 'organization_id', 'detail', 'at')).map((r) => ({ ...r, seq: Number(r.seq), detail: JSON.parse(r.detail) }));
// Events in the order they were written (PostgreSQL numbers them after commit, by `written`).
const eventsOf = async (userId: string) => {
  const pg = db().client.config.client === 'pg';
  return (await db()('events').where('user_id', userId).orderBy(pg ? 'written' : 'seq').select('type', 'organization_id', 'data')).map((r) => ({ ...r, data: JSON.parse(r.data) }));
};

describe('login sync writes', () => {
  it('a first login into 400 organizations writes each membership, audit record, event and sync-run link once, in rule order', async () => {
    const r = await signIn(['A', 'B']);
    expect(r.created).toBe(true);
    expect(r.run.added).toEqual(orgIds.map((organization_id) => ({ organization_id, role: 'member' })));
    const at = clock.now().toISOString();

    const memberships = await db()('memberships').where({ user_id: r.userId }).orderBy('organization_id');
    expect(memberships).toHaveLength(N);
    expect(memberships.map((m) => m.organization_id)).toEqual([...orgIds].sort());
    for (const m of memberships) expect(m).toMatchObject({ role: 'member', source: 'sso', status: 'active', joined_at: at, last_synced_at: at, flagged_reason: null });

    const audit = await auditOf(r.userId);
    expect(audit.map((a) => a.action)).toEqual(['user.provisioned', ...orgIds.map(() => 'membership.added'), 'login.succeeded']);
    expect(audit.slice(1, -1).map((a) => a.organization_id)).toEqual(orgIds);
    expect(new Set(audit.map((a) => a.seq)).size).toBe(audit.length);
    expect(audit[1]!.detail).toEqual({ role: 'member', source: 'sso', sync_run_id: r.run.id });
    expect(audit.at(-1)!.detail).toMatchObject({ sync_run_id: r.run.id, added: N, updated: 0, flagged: 0, restored: 0, skipped: 0 });

    const events = await eventsOf(r.userId);
    expect(events.map((e) => e.type)).toEqual(['user.provisioned', ...orgIds.map(() => 'membership.added')]);
    expect(events.slice(1).map((e) => e.organization_id)).toEqual(orgIds);
    expect(events[1]!.data).toEqual({ role: 'member', source: 'sso', trigger: 'login', connection_id: conn.id });

    const runs = await db()('sync_runs').where({ user_id: r.userId });
    expect(runs).toHaveLength(1);
    expect(JSON.parse(runs[0].added)).toHaveLength(N);
    const links = await db()('sync_run_organizations').where({ sync_run_id: r.run.id }).pluck('organization_id');
    expect([...links].sort()).toEqual([...orgIds].sort());
    expect(Number((await db()('identities').where({ user_id: r.userId }).count<{ n: number | string }[]>({ n: '*' }))[0]!.n)).toBe(1);
  });

  it('a repeat login marks all 400 as synced and writes only its run and login.succeeded', async () => {
    const first = await signIn(['A', 'B']);
    const seq = Math.max(...(await auditOf(first.userId)).map((a) => a.seq));
    const eventCount = (await eventsOf(first.userId)).length;
    const again = await signIn(['A', 'B']);
    expect(again.userId).toBe(first.userId);
    expect(again.run).toMatchObject({ added: [], updated: [], flagged: [], restored: [], skipped: [] });
    const at = clock.now().toISOString();
    const memberships = await db()('memberships').where({ user_id: first.userId });
    expect(memberships).toHaveLength(N);
    expect(new Set(memberships.map((m) => m.last_synced_at))).toEqual(new Set([at]));
    expect(new Set(memberships.map((m) => m.joined_at))).not.toContain(at);
    expect((await auditOf(first.userId, seq)).map((a) => a.action)).toEqual(['login.succeeded']);
    expect(await eventsOf(first.userId)).toHaveLength(eventCount);
    expect(await db()('sync_run_organizations').where({ sync_run_id: again.run.id })).toEqual([]);
    expect(await db()('users').where({ id: first.userId }).first()).toMatchObject({ last_login_at: at, updated_at: at });
    expect(await db()('identities').where({ user_id: first.userId }).first()).toMatchObject({ last_login_at: at, last_groups: JSON.stringify(['A', 'B']) });
  });

  it('flags 200 lost grants, restores them, and never re-adds a membership an admin removed', async () => {
    const first = await signIn(['A', 'B']);
    const userId = first.userId;
    await t.container.members.removeOne(orgIds[2]!, userId, actor);
    const seq = Math.max(...(await auditOf(userId)).map((a) => a.seq));

    const lost = await signIn(['A']);
    const odd = orgIds.filter((_, i) => i % 2 === 1);
    // Flags come in the order the memberships are read (unspecified): compared as sets.
    const byOrg = (a: { organization_id: string }, b: { organization_id: string }) => a.organization_id.localeCompare(b.organization_id);
    expect([...lost.run.flagged].sort(byOrg)).toEqual(odd.map((organization_id) => ({ organization_id, reason: 'login_lost_grant' })).sort(byOrg));
    expect(lost.run.skipped).toEqual([{ organization_id: orgIds[2], reason: 'removed_by_admin' }]);
    const flaggedAudit = (await auditOf(userId, seq)).filter((a) => a.action === 'membership.flagged');
    // One record per flag, in the run's order.
    expect(flaggedAudit.map((a) => a.organization_id)).toEqual(lost.run.flagged.map((f) => f.organization_id));
    expect(flaggedAudit[0]!.detail).toMatchObject({ reason: 'login_lost_grant', evidence: { channel: 'login', connection_id: conn.id }, sync_run_id: lost.run.id });
    const statuses = await db()('memberships').where({ user_id: userId }).select('organization_id', 'status', 'flagged_reason');
    expect(statuses).toHaveLength(N - 1);
    expect(statuses.filter((s) => s.status === 'flagged').map((s) => s.organization_id).sort()).toEqual([...odd].sort());
    expect(statuses.find((s) => s.organization_id === orgIds[2])).toBeUndefined();
    const links = await db()('sync_run_organizations').where({ sync_run_id: lost.run.id }).pluck('organization_id');
    expect([...links].sort()).toEqual([...odd, orgIds[2]!].sort());

    const back = await signIn(['A', 'B']);
    expect(back.run.restored).toEqual(odd.map((organization_id) => ({ organization_id })));
    expect(back.run.added).toEqual([]);
    expect(back.run.skipped).toEqual([{ organization_id: orgIds[2], reason: 'removed_by_admin' }]);
    const after = await db()('memberships').where({ user_id: userId }).select('status', 'flagged_reason', 'flagged_at', 'flag_evidence');
    expect(after).toHaveLength(N - 1);
    for (const m of after) expect(m).toEqual({ status: 'active', flagged_reason: null, flagged_at: null, flag_evidence: null });
    expect(await eventsOf(userId).then((e) => e.filter((x) => x.type === 'membership.restored').map((x) => x.organization_id))).toEqual(odd);
  });

  it('restores a flagged membership and changes its role in the same login', async () => {
    const first = await signIn(['B']);
    await signIn([]);
    expect(await db()('memberships').where({ user_id: first.userId, organization_id: orgIds[1] }).first()).toMatchObject({ status: 'flagged', role: 'member' });
    const r = await signIn(['B', 'C']);
    expect(r.run.restored).toContainEqual({ organization_id: orgIds[1] });
    expect(r.run.updated).toEqual([{ organization_id: orgIds[1], from_role: 'member', to_role: 'owner' }]);
    const at = clock.now().toISOString();
    expect(await db()('memberships').where({ user_id: first.userId, organization_id: orgIds[1] }).first()).toMatchObject({ status: 'active', role: 'owner', flagged_reason: null, last_synced_at: at });
    const actions = (await auditOf(first.userId)).filter((a) => a.organization_id === orgIds[1]).map((a) => a.action);
    expect(actions).toEqual(['membership.added', 'membership.flagged', 'membership.restored', 'membership.role_changed']);
  });
});
