import type { Container } from '../../container.js';
import type { Trx } from '../../platform/db.js';
import { coerceResource, type JsonObject } from './coerce.js';
import { invalidValue, resourceNotFound } from './errors.js';
import { checkIfMatch, lockable, write, type ScimContext } from './context.js';
import * as q from './group-queries.js';
import { memberIds, memberMatches, planGroupPatch } from './group-patch.js';
import type { PatchOp } from './patch-path.js';
import { GROUP_TYPE } from './resource-types.js';
import { groupResource } from './group-view.js';
import type { ScimGroupMembershipChange } from './lifecycle.js';

function storedForm(body: unknown): { data: JsonObject; members: string[] | undefined } {
  const data = coerceResource(body, GROUP_TYPE, new Set(['members']));
  if (typeof data.displayName !== 'string' || !data.displayName.trim()) throw invalidValue('displayName is required.');
  const key = Object.keys(body as object).find((k) => k.toLowerCase() === 'members');
  return { data, members: key === undefined ? undefined : memberIds((body as Record<string, unknown>)[key]) };
}

function columns(data: JsonObject) {
  const displayName = data.displayName as string;
  return {
    display_name: displayName,
    display_name_lower: displayName.toLowerCase(),
    external_id: typeof data.externalId === 'string' ? data.externalId : null,
    data: JSON.stringify(data),
  };
}

export class ScimGroupService {
  constructor(private readonly c: Container) {}

  async get(ctx: ScimContext, id: string, withMembers: boolean): Promise<JsonObject> {
    const row = await q.findScimGroup(this.c.db, ctx.directoryId, id);
    if (!row) throw resourceNotFound('Group', id);
    const members = withMembers ? ((await q.membersOfGroups(this.c.db, ctx.directoryId, [id])).get(id) ?? []) : undefined;
    return groupResource(row, ctx.baseUrl, members);
  }

  async create(ctx: ScimContext, body: unknown): Promise<JsonObject> {
    const { data, members } = storedForm(body);
    const row = await write(this.c, ctx, `displayName "${data.displayName as string}"`, async (trx) => {
      const row: q.ScimGroupRow = { id: this.c.ids.uuid(), directory_id: ctx.directoryId, ...columns(data), version: 1, created_at: ctx.at, updated_at: ctx.at };
      await q.insertScimGroup(trx, row);
      await this.changeMembers(trx, ctx, row, new Set(members ?? []), new Set(), 'POST /Groups');
      return row;
    });
    return this.get(ctx, row.id, true);
  }

  async replace(ctx: ScimContext, id: string, body: unknown, ifMatch?: string): Promise<JsonObject> {
    const { data, members } = storedForm(body);
    await write(this.c, ctx, `displayName "${data.displayName as string}"`, async (trx) => {
      const row = await this.lockRow(trx, ctx, id, ifMatch);
      let add = new Set<string>();
      let remove = new Set<string>();
      // A PUT without `members` keeps them (clients rename with PUT); `members: []` clears them.
      if (members !== undefined) ({ add, remove } = await this.diff(trx, id, members));
      const next = { ...row, ...columns(data), version: row.version + 1, updated_at: ctx.at };
      await q.updateScimGroup(trx, next, row.version);
      await this.changeMembers(trx, ctx, next, add, remove, 'PUT /Groups');
    });
    return this.get(ctx, id, true);
  }

  async patch(ctx: ScimContext, id: string, ops: PatchOp[], ifMatch: string | undefined, withMembers: boolean): Promise<JsonObject> {
    await write(this.c, ctx, 'displayName', async (trx) => {
      const row = await this.lockRow(trx, ctx, id, ifMatch);
      const plan = planGroupPatch(JSON.parse(row.data) as JsonObject, ops);
      let { add, remove } = plan;
      if (plan.replaceAll) {
        const d = await this.diff(trx, id, [...plan.replaceAll, ...add].filter((x) => !remove.has(x)));
        add = d.add;
        remove = d.remove;
      }
      if (plan.removeWhere.length) {
        const all = (await q.membersOfGroups(trx, ctx.directoryId, [id])).get(id) ?? [];
        for (const m of all) if (plan.removeWhere.some((f) => memberMatches(f, m)) && !add.has(m.value)) remove.add(m.value);
      }
      const dataChanged = JSON.stringify(plan.data) !== row.data;
      const changed = await this.changeMembers(trx, ctx, row, add, remove, 'PATCH members');
      if (dataChanged) await q.updateScimGroup(trx, { ...row, ...columns(plan.data), version: row.version + 1, updated_at: ctx.at }, row.version);
      else if (changed) await q.bumpGroup(trx, ctx.directoryId, id, row.version, ctx.at);
    });
    return this.get(ctx, id, withMembers);
  }

  async delete(ctx: ScimContext, id: string, ifMatch?: string): Promise<void> {
    await write(this.c, ctx, 'displayName', async (trx) => {
      const row = await this.lockRow(trx, ctx, id, ifMatch);
      const members = await q.allMembers(trx, id);
      await q.deleteScimGroup(trx, ctx.directoryId, id);
      await this.c.scimLifecycle.groupDeleted(trx, this.change(ctx, row, members.map((m) => ({ scimUserId: m.scim_user_id, userId: m.user_id })), 'DELETE /Groups'));
    });
  }

  private async lockRow(trx: Trx, ctx: ScimContext, id: string, ifMatch: string | undefined): Promise<q.ScimGroupRow> {
    const query = q.findScimGroup(trx, ctx.directoryId, id);
    const row = await (lockable(trx) ? query.forUpdate() : query);
    if (!row) throw resourceNotFound('Group', id);
    checkIfMatch(ifMatch, row.version);
    return row;
  }

  /** Replacing the whole member list: the one case that reads every member. */
  private async diff(trx: Trx, groupId: string, wanted: string[]): Promise<{ add: Set<string>; remove: Set<string> }> {
    const current = new Set((await q.allMembers(trx, groupId)).map((m) => m.scim_user_id));
    const want = new Set(wanted);
    return { add: new Set([...want].filter((x) => !current.has(x))), remove: new Set([...current].filter((x) => !want.has(x))) };
  }

  /**
   * Inserts and deletes only the member rows that really change (repeated adds and removals of
   * non-members are no-ops), and tells the lifecycle listener exactly those. Returns whether any did.
   */
  private async changeMembers(trx: Trx, ctx: ScimContext, row: q.ScimGroupRow, add: Set<string>, remove: Set<string>, action: string): Promise<boolean> {
    let changed = false;
    if (add.size) {
      const ids = [...add];
      const candidates = await q.memberCandidates(trx, ctx.directoryId, row.id, ids);
      const unknown = ids.filter((x) => !candidates.has(x));
      if (unknown.length) throw invalidValue(`No such user in this directory: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}.`);
      const fresh = ids.filter((x) => !candidates.get(x)!.member);
      if (fresh.length) {
        await q.insertMembers(trx, ctx.directoryId, row.id, fresh, ctx.at);
        await this.c.scimLifecycle.groupMembersAdded(trx, this.change(ctx, row, fresh.map((x) => ({ scimUserId: x, userId: candidates.get(x)!.userId })), action.replace('members', 'members add')));
        changed = true;
      }
    }
    if (remove.size) {
      const present = [...(await q.existingMembers(trx, row.id, [...remove]))];
      if (present.length) {
        const users = await q.existingUsers(trx, ctx.directoryId, present);
        await q.deleteMembers(trx, row.id, present);
        await this.c.scimLifecycle.groupMembersRemoved(trx, this.change(ctx, row, present.map((x) => ({ scimUserId: x, userId: users.get(x) ?? null })), action.replace('members', 'members remove')));
        changed = true;
      }
    }
    return changed;
  }

  private change(ctx: ScimContext, row: q.ScimGroupRow, members: ScimGroupMembershipChange['members'], action: string): ScimGroupMembershipChange {
    return { directoryId: ctx.directoryId, connectionId: ctx.connectionId, groupId: row.id, groupDisplayName: row.display_name, groupExternalId: row.external_id, members, at: ctx.at, action };
  }
}
