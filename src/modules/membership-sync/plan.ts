import { roleRank, type FlagReason, type MembershipStatus, type Role, type SkipReason } from '../memberships/types.js';

export interface ActualMembership {
  organization_id: string;
  role: Role;
  status: MembershipStatus;
}

export interface PlanInput {
  /** Organizations the connection governs: nothing else is ever touched. */
  governed: ReadonlySet<string>;
  /** Organization → role the rules grant, in rule order. */
  desired: ReadonlyMap<string, Role>;
  /** The user's memberships in governed organizations. */
  actual: readonly ActualMembership[];
  /** Governed organizations an admin removed the user from. */
  removed: ReadonlySet<string>;
  /** All of the user's memberships, governed or not (the limit counts every one). */
  membershipCount: number;
  limit: number;
  rolesManagedBy: 'idp' | 'admin';
  /** Reason to flag an active membership the rules no longer grant; null leaves it alone. */
  lostGrant: FlagReason | null;
  /**
   * False when the groups behind `desired` may be missing some (an incomplete login group list):
   * `desired` is then only a lower bound, so what it lacks is held instead of flagged, and a role it
   * puts lower is held instead of lowered. Adds, restores and raised roles still apply.
   */
  groupsComplete?: boolean;
}

export type Change =
  | { kind: 'add'; organizationId: string; role: Role }
  | { kind: 'restore'; organizationId: string }
  | { kind: 'role'; organizationId: string; from: Role; to: Role }
  | { kind: 'flag'; organizationId: string; reason: FlagReason }
  | { kind: 'skip'; organizationId: string; reason: SkipReason }
  | { kind: 'hold'; organizationId: string; withheld: 'flag' | 'role_change' }
  | { kind: 'keep'; organizationId: string };

/**
 * Desired vs actual → the list of changes (SPEC §3 step 6). Pure: no I/O, no clock, so every case is
 * unit-tested without a database. Changes come out in a stable order: rule order, then the
 * memberships to flag in the order given.
 */
export function planSync(input: PlanInput): Change[] {
  const changes: Change[] = [];
  const complete = input.groupsComplete !== false;
  const actual = new Map(input.actual.filter((m) => input.governed.has(m.organization_id)).map((m) => [m.organization_id, m]));
  let count = input.membershipCount;
  for (const [organizationId, role] of input.desired) {
    if (!input.governed.has(organizationId)) continue;
    const current = actual.get(organizationId);
    if (!current) {
      if (input.removed.has(organizationId)) changes.push({ kind: 'skip', organizationId, reason: 'removed_by_admin' });
      else if (count >= input.limit) changes.push({ kind: 'skip', organizationId, reason: 'membership_limit' });
      else {
        changes.push({ kind: 'add', organizationId, role });
        count += 1;
      }
      continue;
    }
    let changed = false;
    if (current.status === 'flagged') {
      changes.push({ kind: 'restore', organizationId });
      changed = true;
    }
    if (input.rolesManagedBy === 'idp' && current.role !== role) {
      if (complete || roleRank[role] > roleRank[current.role]) changes.push({ kind: 'role', organizationId, from: current.role, to: role });
      else changes.push({ kind: 'hold', organizationId, withheld: 'role_change' });
      changed = true;
    }
    if (!changed) changes.push({ kind: 'keep', organizationId });
  }
  if (input.lostGrant) {
    for (const m of actual.values()) {
      if (m.status === 'active' && !input.desired.has(m.organization_id)) {
        changes.push(complete ? { kind: 'flag', organizationId: m.organization_id, reason: input.lostGrant } : { kind: 'hold', organizationId: m.organization_id, withheld: 'flag' });
      }
    }
  }
  return changes;
}
