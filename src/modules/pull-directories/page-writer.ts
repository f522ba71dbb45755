import type { Trx } from '../../platform/db.js';
import type { Container } from '../../container.js';
import type { Actor } from '../audit/types.js';
import type { EventType } from '../events/service.js';
import { linkGlobalUser, syncGlobalUser } from '../scim/linking.js';
import type { JsonObject } from '../scim/coerce.js';
import * as uq from '../scim/user-queries.js';
import * as gq from '../scim/group-queries.js';
import { emailRows, globalFields, storedColumns, userFields } from '../scim/user-view.js';
import type { ScimGroupMembershipChange, ScimUserChange } from '../scim/lifecycle.js';
import type { PullChangeSource, PulledGroup, PulledUser } from './pulled.js';

type UserRow = uq.ScimUserRow;

/** Stored like a SCIM user, so SCIM reads, login sync, reconcile and reports see pulled users too. */
function merge(current: JsonObject | null, u: PulledUser): JsonObject | null {
  const name = { ...((current?.name as JsonObject | undefined) ?? {}) };
  if (u.givenName !== undefined) name.givenName = u.givenName;
  if (u.familyName !== undefined) name.familyName = u.familyName;
  for (const k of Object.keys(name)) if (name[k] === null) delete name[k];
  const userName = u.userName ?? (current?.userName as string | undefined);
  if (!userName) return null;
  const currentEmail = ((current?.emails as JsonObject[] | undefined) ?? [])[0]?.value as string | undefined;
  const email = u.email === undefined ? currentEmail : (u.email ?? undefined);
  const displayName = u.displayName === undefined ? (current?.displayName as string | undefined) : (u.displayName ?? undefined);
  const data: JsonObject = { userName, externalId: u.remoteId };
  if (Object.keys(name).length) data.name = name;
  if (displayName) data.displayName = displayName;
  if (email) data.emails = [{ value: email, type: 'work', primary: true }];
  data.active = u.active ?? current?.active !== false;
  return data;
}

function columns(data: JsonObject) {
  const f = userFields(data);
  return { f, cols: storedColumns(data, f) };
}

const chunked = <T>(items: T[], size = 500): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * Applies one page of a pull run inside one transaction, through the same linking rule, lifecycle
 * listener (flags, restores, sync runs), audit and outbox as a SCIM write. Only what the source
 * states explicitly is applied here; absence is handled by the sweep after a complete pass.
 */
export class PageWriter {
  /** Audit and outbox entries of the user changes in progress, written together before their lifecycle effects. */
  private records: Array<{ row: UserRow; types: EventType[]; action: string }> = [];
  private effects: Array<() => Promise<void>> = [];

  readonly counts = { created: 0, updated: 0, deactivated: 0, reactivated: 0, deleted: 0, groups_created: 0, groups_deleted: 0, members_added: 0, members_removed: 0 };

  constructor(
    private readonly c: Container,
    private readonly trx: Trx,
    private readonly src: PullChangeSource,
  ) {}

  private get actor(): Actor {
    return { type: 'scim', id: this.src.directoryId };
  }

  private async usersByRemoteId(remoteIds: string[]): Promise<Map<string, UserRow>> {
    const out = new Map<string, UserRow>();
    for (const part of chunked(remoteIds, 1000)) {
      const rows = await this.trx<UserRow>('scim_users').where({ directory_id: this.src.directoryId }).whereIn('external_id', part);
      for (const r of rows) if (r.external_id) out.set(r.external_id, r);
    }
    return out;
  }

  async upsertUsers(users: PulledUser[]): Promise<void> {
    if (users.length === 0) return;
    const existing = await this.usersByRemoteId(users.map((u) => u.remoteId));
    for (const u of users) {
      const row = existing.get(u.remoteId);
      if (row) await this.updateUser(row, u);
      else await this.createUser(u);
    }
    await this.flush();
  }

  /**
   * One audit insert and one outbox write for the page's user changes, then their lifecycle effects
   * (flags, restores, grants) in order: a user's `user.*` event still precedes its `membership.*` ones.
   */
  private async flush(): Promise<void> {
    const records = this.records;
    const effects = this.effects;
    this.records = [];
    this.effects = [];
    if (records.length) {
      const entries = records.flatMap(({ row, types, action }) => {
        const detail = { directory_id: this.src.directoryId, scim_user_id: row.id, user_name: row.user_name, action };
        return types.map((t) => ({ t, row, detail }));
      });
      await this.c.audit.record(this.trx, ...entries.map((e) => ({ action: e.t, actor: this.actor, targetUserId: e.row.user_id, detail: e.detail })));
      await this.c.events.emit(this.trx, ...entries.map((e) => ({ type: e.t, userId: e.row.user_id, data: e.detail })));
    }
    for (const effect of effects) await effect();
  }

  /** Updates users this directory already has (a light run's suspended list); never creates one. */
  async updateKnownUsers(users: PulledUser[]): Promise<void> {
    if (users.length === 0) return;
    const existing = await this.usersByRemoteId(users.map((u) => u.remoteId));
    for (const u of users) {
      const row = existing.get(u.remoteId);
      if (row) await this.updateUser(row, u);
    }
    await this.flush();
  }

  private async createUser(u: PulledUser): Promise<void> {
    const data = merge(null, u);
    // A partial record for a user never seen in full (a delta round racing a deletion): nothing to store.
    if (!data) return;
    const { f, cols } = columns(data);
    const { userId, created } = await linkGlobalUser(this.trx, this.src.connectionId, globalFields(data, f), this.c.ids, this.src.at);
    const row: UserRow = { id: this.c.ids.uuid(), directory_id: this.src.directoryId, user_id: userId, ...cols, version: 1, created_at: this.src.at, updated_at: this.src.at };
    await uq.insertScimUser(this.trx, row, emailRows(row.id, this.src.directoryId, f));
    if (!created) await this.trx('scim_user_tombstones').where({ directory_id: this.src.directoryId, user_id: userId }).delete();
    this.counts.created += 1;
    const action = `${this.src.label} user created`;
    await this.record(row, f.active ? ['user.provisioned'] : ['user.provisioned', 'user.deactivated'], action);
    // First seen suspended: the IdP has disabled the account, which flags what it already had.
    if (f.active) this.effects.push(() => this.c.scimLifecycle.userProvisioned(this.trx, { ...this.userChange(row, action), newAccount: created }));
    else if (!created) this.effects.push(() => this.c.scimLifecycle.userDeactivated(this.trx, this.userChange(row, `${this.src.label} user suspended`)));
  }

  private async updateUser(row: UserRow, u: PulledUser): Promise<void> {
    const before = JSON.parse(row.data) as JsonObject;
    const data = merge(before, u);
    if (!data || JSON.stringify(data) === JSON.stringify(before)) return;
    const { f, cols } = columns(data);
    const next: UserRow = { ...row, ...cols, version: row.version + 1, updated_at: this.src.at };
    await uq.updateScimUser(this.trx, next, row.version, emailRows(row.id, this.src.directoryId, f));
    if (next.user_id) await syncGlobalUser(this.trx, this.src.connectionId, next.user_id, globalFields(data, f), this.src.at);
    const wasActive = before.active !== false;
    const { active: _a, ...restBefore } = before;
    const { active: _b, ...restAfter } = data;
    const types: EventType[] = [];
    if (JSON.stringify(restBefore) !== JSON.stringify(restAfter)) types.push('user.updated');
    const action = `${this.src.label} ${f.active ? 'user enabled' : 'user suspended'}`;
    if (wasActive && !f.active) types.push('user.deactivated');
    if (!wasActive && f.active) types.push('user.reactivated');
    this.counts.updated += 1;
    await this.record(next, types, types.length === 1 && types[0] === 'user.updated' ? `${this.src.label} user updated` : action);
    if (wasActive && !f.active) {
      this.counts.deactivated += 1;
      this.effects.push(() => this.c.scimLifecycle.userDeactivated(this.trx, this.userChange(next, action)));
    }
    if (!wasActive && f.active) {
      this.counts.reactivated += 1;
      this.effects.push(() => this.c.scimLifecycle.userReactivated(this.trx, this.userChange(next, action)));
    }
  }

  /** The source says these users are deleted (Graph `@removed`, Google `showDeleted`, or absent from a complete pass). */
  async deleteUsers(remoteIds: string[], how: string): Promise<void> {
    if (remoteIds.length === 0) return;
    const rows = await this.usersByRemoteId(remoteIds);
    for (const row of rows.values()) {
      await uq.deleteScimUser(this.trx, this.src.directoryId, row.id);
      if (row.user_id) {
        await this.trx('scim_user_tombstones')
          .insert({ directory_id: this.src.directoryId, user_id: row.user_id, scim_user_id: row.id, user_name_lower: row.user_name_lower, external_id: row.external_id, deleted_at: this.src.at })
          .onConflict(['directory_id', 'user_id'])
          .merge();
      }
      this.counts.deleted += 1;
      const action = `${this.src.label} user ${how}`;
      await this.record(row, ['user.deleted'], action);
      this.effects.push(() => this.c.scimLifecycle.userDeleted(this.trx, this.userChange(row, action)));
    }
    await this.flush();
  }

  private async groupByRemoteId(remoteId: string): Promise<gq.ScimGroupRow | undefined> {
    return this.trx<gq.ScimGroupRow>('scim_groups').where({ directory_id: this.src.directoryId, external_id: remoteId }).first();
  }

  /**
   * Creates or renames the group. Display names are unique per directory while the IdPs allow
   * duplicates: a clash gets the object id appended (rules can always match the id).
   */
  async upsertGroup(g: PulledGroup): Promise<gq.ScimGroupRow> {
    const row = await this.groupByRemoteId(g.remoteId);
    let name = g.displayName.trim() || g.remoteId;
    const clash = await this.trx('scim_groups').where({ directory_id: this.src.directoryId, display_name_lower: name.toLowerCase() }).whereNot('external_id', g.remoteId).first('id');
    if (clash) name = `${name} (${g.remoteId})`;
    const data = JSON.stringify({ displayName: name, externalId: g.remoteId });
    if (row && row.data === data) return row;
    const cols = { display_name: name, display_name_lower: name.toLowerCase(), external_id: g.remoteId, data };
    if (row) {
      const next = { ...row, ...cols, version: row.version + 1, updated_at: this.src.at };
      await gq.updateScimGroup(this.trx, next, row.version);
      return next;
    }
    const created: gq.ScimGroupRow = { id: this.c.ids.uuid(), directory_id: this.src.directoryId, ...cols, version: 1, created_at: this.src.at, updated_at: this.src.at };
    await gq.insertScimGroup(this.trx, created);
    this.counts.groups_created += 1;
    return created;
  }

  async deleteGroup(remoteId: string): Promise<void> {
    const row = await this.groupByRemoteId(remoteId);
    if (!row) return;
    const members = await gq.allMembers(this.trx, row.id);
    await gq.deleteScimGroup(this.trx, this.src.directoryId, row.id);
    this.counts.groups_deleted += 1;
    await this.c.scimLifecycle.groupDeleted(this.trx, this.groupChange(row, members.map((m) => ({ scimUserId: m.scim_user_id, userId: m.user_id })), `${this.src.label} group deleted`));
  }

  /** Adds users (by remote id) to the group; ids that are not users of this directory are ignored. */
  async addMembers(group: gq.ScimGroupRow, userRemoteIds: string[]): Promise<void> {
    if (userRemoteIds.length === 0) return;
    const users = await this.usersByRemoteId(userRemoteIds);
    const ids = [...users.values()].map((u) => u.id);
    const present = await gq.existingMembers(this.trx, group.id, ids);
    const fresh = [...users.values()].filter((u) => !present.has(u.id));
    if (fresh.length === 0) return;
    await gq.insertMembers(this.trx, this.src.directoryId, group.id, fresh.map((u) => u.id), this.src.at);
    this.counts.members_added += fresh.length;
    await this.c.scimLifecycle.groupMembersAdded(this.trx, this.groupChange(group, fresh.map((u) => ({ scimUserId: u.id, userId: u.user_id })), `${this.src.label} group members add`));
  }

  async removeMembers(group: gq.ScimGroupRow, scimUserIds: string[], how = 'group members remove'): Promise<void> {
    if (scimUserIds.length === 0) return;
    const present = [...(await gq.existingMembers(this.trx, group.id, scimUserIds))];
    if (present.length === 0) return;
    const users = await gq.existingUsers(this.trx, this.src.directoryId, present);
    await gq.deleteMembers(this.trx, group.id, present);
    this.counts.members_removed += present.length;
    await this.c.scimLifecycle.groupMembersRemoved(this.trx, this.groupChange(group, present.map((x) => ({ scimUserId: x, userId: users.get(x) ?? null })), `${this.src.label} ${how}`));
  }

  async removeMembersByRemoteId(group: gq.ScimGroupRow, userRemoteIds: string[]): Promise<void> {
    const users = await this.usersByRemoteId(userRemoteIds);
    await this.removeMembers(group, [...users.values()].map((u) => u.id));
  }

  findGroup(remoteId: string): Promise<gq.ScimGroupRow | undefined> {
    return this.groupByRemoteId(remoteId);
  }

  private userChange(row: UserRow, action: string): ScimUserChange {
    return { directoryId: this.src.directoryId, connectionId: this.src.connectionId, scimUserId: row.id, userId: row.user_id, at: this.src.at, action, pullRunId: this.src.runId };
  }

  private groupChange(row: gq.ScimGroupRow, members: ScimGroupMembershipChange['members'], action: string): ScimGroupMembershipChange {
    return { directoryId: this.src.directoryId, connectionId: this.src.connectionId, groupId: row.id, groupDisplayName: row.display_name, groupExternalId: row.external_id, members, at: this.src.at, action, pullRunId: this.src.runId };
  }

  private async record(row: UserRow, types: EventType[], action: string): Promise<void> {
    if (types.length) this.records.push({ row, types, action });
  }
}
