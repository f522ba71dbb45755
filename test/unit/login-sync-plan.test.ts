import { describe, expect, it } from 'vitest';
import { planSync, type ActualMembership, type PlanInput } from '../../src/modules/membership-sync/plan.js';
import { desiredMemberships, groupTokens } from '../../src/modules/membership-sync/rules.js';
import type { Role } from '../../src/modules/memberships/types.js';

const base = (over: Partial<PlanInput> = {}): PlanInput => ({
  governed: new Set(['a', 'b', 'c']),
  desired: new Map(),
  actual: [],
  removed: new Set(),
  membershipCount: 0,
  limit: 400,
  rolesManagedBy: 'idp',
  lostGrant: 'login_lost_grant',
  ...over,
});
const m = (organization_id: string, role: Role = 'member', status: 'active' | 'flagged' = 'active'): ActualMembership => ({ organization_id, role, status });

describe('desiredMemberships (rules → organizations and roles)', () => {
  it('grants everyone for a rule without groups', () => {
    expect([...desiredMemberships([{ organization_id: 'a', role: 'member', groups: null }], new Set())]).toEqual([['a', 'member']]);
  });
  it('grants by any listed group, case-insensitively', () => {
    const rules = [{ organization_id: 'a', role: 'admin' as const, groups: ['Engineering', 'Ops'] }];
    expect(desiredMemberships(rules, groupTokens(['ops'])).get('a')).toBe('admin');
    expect(desiredMemberships(rules, groupTokens(['sales'])).has('a')).toBe(false);
  });
  it('takes the highest role when several rules grant one organization, whatever the order', () => {
    const rules = [
      { organization_id: 'a', role: 'member' as const, groups: null },
      { organization_id: 'a', role: 'owner' as const, groups: ['admins'] },
      { organization_id: 'a', role: 'admin' as const, groups: ['leads'] },
    ];
    expect(desiredMemberships(rules, groupTokens(['admins', 'leads'])).get('a')).toBe('owner');
    expect(desiredMemberships(rules, groupTokens(['leads'])).get('a')).toBe('admin');
    expect(desiredMemberships(rules, groupTokens([])).get('a')).toBe('member');
  });
  it('matches login groups, SCIM display names and SCIM external ids alike', () => {
    const rules = [
      { organization_id: 'a', role: 'member' as const, groups: ['6f1e2c1a-0000-4000-8000-000000000001'] },
      { organization_id: 'b', role: 'member' as const, groups: ['Design'] },
    ];
    const d = desiredMemberships(rules, groupTokens([], ['design', '6F1E2C1A-0000-4000-8000-000000000001']));
    expect([...d.keys()]).toEqual(['a', 'b']);
  });
});

describe('planSync (desired vs actual → changes)', () => {
  it('adds desired organizations the user is not in', () => {
    expect(planSync(base({ desired: new Map([['a', 'admin']]) }))).toEqual([{ kind: 'add', organizationId: 'a', role: 'admin' }]);
  });
  it('keeps a membership that already matches', () => {
    expect(planSync(base({ desired: new Map([['a', 'member']]), actual: [m('a')] }))).toEqual([{ kind: 'keep', organizationId: 'a' }]);
  });
  it('restores a flagged membership the rules grant again', () => {
    expect(planSync(base({ desired: new Map([['a', 'member']]), actual: [m('a', 'member', 'flagged')] }))).toEqual([{ kind: 'restore', organizationId: 'a' }]);
  });
  it('restores and re-roles in one sync', () => {
    expect(planSync(base({ desired: new Map([['a', 'owner']]), actual: [m('a', 'member', 'flagged')] }))).toEqual([
      { kind: 'restore', organizationId: 'a' },
      { kind: 'role', organizationId: 'a', from: 'member', to: 'owner' },
    ]);
  });
  it('re-roles only when roles are managed by the IdP', () => {
    const input = { desired: new Map<string, Role>([['a', 'admin']]), actual: [m('a', 'member')] };
    expect(planSync(base(input))).toEqual([{ kind: 'role', organizationId: 'a', from: 'member', to: 'admin' }]);
    expect(planSync(base({ ...input, rolesManagedBy: 'admin' }))).toEqual([{ kind: 'keep', organizationId: 'a' }]);
  });
  it('demotes as well as promotes', () => {
    expect(planSync(base({ desired: new Map([['a', 'member']]), actual: [m('a', 'owner')] }))).toEqual([{ kind: 'role', organizationId: 'a', from: 'owner', to: 'member' }]);
  });
  it('flags active memberships no longer granted, with the given reason', () => {
    expect(planSync(base({ actual: [m('a'), m('b', 'admin')] }))).toEqual([
      { kind: 'flag', organizationId: 'a', reason: 'login_lost_grant' },
      { kind: 'flag', organizationId: 'b', reason: 'login_lost_grant' },
    ]);
  });
  it('leaves an already flagged, still ungranted membership alone', () => {
    expect(planSync(base({ actual: [m('a', 'member', 'flagged')] }))).toEqual([]);
  });
  it('flags nothing when lostGrant is null (SCIM grant-only syncs)', () => {
    expect(planSync(base({ actual: [m('a')], lostGrant: null }))).toEqual([]);
  });
  it('never touches organizations the connection does not govern', () => {
    const changes = planSync(base({ desired: new Map([['x', 'owner']]), actual: [m('y'), m('z', 'member', 'flagged')], membershipCount: 2 }));
    expect(changes).toEqual([]);
  });
  it('skips organizations with a removal record (removed_by_admin)', () => {
    expect(planSync(base({ desired: new Map([['a', 'member']]), removed: new Set(['a']) }))).toEqual([
      { kind: 'skip', organizationId: 'a', reason: 'removed_by_admin' },
    ]);
  });
  it('a removal record does not block restoring or re-roling an existing membership', () => {
    expect(planSync(base({ desired: new Map([['a', 'admin']]), actual: [m('a', 'member', 'flagged')], removed: new Set(['a']) }))).toHaveLength(2);
  });
  it('stops adding at the membership limit, counting memberships in other organizations', () => {
    const changes = planSync(base({ desired: new Map([['a', 'member'], ['b', 'member'], ['c', 'member']]), membershipCount: 398, limit: 400 }));
    expect(changes).toEqual([
      { kind: 'add', organizationId: 'a', role: 'member' },
      { kind: 'add', organizationId: 'b', role: 'member' },
      { kind: 'skip', organizationId: 'c', reason: 'membership_limit' },
    ]);
  });
  it('at the limit still restores and re-roles existing memberships', () => {
    const changes = planSync(base({ desired: new Map([['a', 'admin'], ['b', 'member']]), actual: [m('a', 'member', 'flagged')], membershipCount: 400, limit: 400 }));
    expect(changes).toEqual([
      { kind: 'restore', organizationId: 'a' },
      { kind: 'role', organizationId: 'a', from: 'member', to: 'admin' },
      { kind: 'skip', organizationId: 'b', reason: 'membership_limit' },
    ]);
  });
  it('handles 401 granted organizations: 400 added, the last one skipped', () => {
    const governed = new Set(Array.from({ length: 401 }, (_, i) => `o${i}`));
    const desired = new Map<string, Role>([...governed].map((id) => [id, 'member']));
    const changes = planSync(base({ governed, desired }));
    expect(changes.filter((c) => c.kind === 'add')).toHaveLength(400);
    expect(changes.at(-1)).toEqual({ kind: 'skip', organizationId: 'o400', reason: 'membership_limit' });
  });
  it('combines every kind of change in one plan', () => {
    const changes = planSync(
      base({
        governed: new Set(['a', 'b', 'c', 'd', 'e']),
        desired: new Map<string, Role>([['a', 'member'], ['b', 'owner'], ['c', 'member'], ['e', 'member']]),
        actual: [m('b', 'member'), m('c', 'member', 'flagged'), m('d', 'admin')],
        removed: new Set(['e']),
      }),
    );
    expect(changes.map((c) => `${c.kind}:${c.organizationId}`)).toEqual(['add:a', 'role:b', 'restore:c', 'skip:e', 'flag:d']);
  });
  it('with an incomplete group list, holds flags and lowered roles but still adds, restores and raises', () => {
    const changes = planSync(
      base({
        governed: new Set(['a', 'b', 'c', 'd', 'e']),
        desired: new Map<string, Role>([['a', 'member'], ['b', 'owner'], ['c', 'member'], ['e', 'member']]),
        actual: [m('b', 'member'), m('c', 'admin', 'flagged'), m('d', 'admin'), m('e', 'owner')],
        groupsComplete: false,
      }),
    );
    expect(changes).toEqual([
      { kind: 'add', organizationId: 'a', role: 'member' },
      { kind: 'role', organizationId: 'b', from: 'member', to: 'owner' },
      { kind: 'restore', organizationId: 'c' },
      { kind: 'hold', organizationId: 'c', withheld: 'role_change' },
      { kind: 'hold', organizationId: 'e', withheld: 'role_change' },
      { kind: 'hold', organizationId: 'd', withheld: 'flag' },
    ]);
  });
});
