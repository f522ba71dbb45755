import type { Container } from '../../container.js';
import { insertBatch, type InsertBatch, type Trx } from '../../platform/db.js';
import { coerceResource, type JsonObject } from './coerce.js';
import { resourceNotFound } from './errors.js';
import { checkIfMatch, lockable, write, type ScimContext } from './context.js';
import { guessNewAccount, KnownConnections, planGlobalUser, syncGlobalUser } from './linking.js';
import { isExpectationFailed } from '../../platform/db-errors.js';
import type { PatchOp } from './patch-path.js';
import { USER_TYPE } from './resource-types.js';
import { applyPatch } from './user-patch.js';
import * as q from './user-queries.js';
import { emailRows, globalFields, storedColumns, userFields, userResource, type UserFields } from './user-view.js';
import type { EventType } from '../events/service.js';

const parse = (row: q.ScimUserRow): JsonObject => JSON.parse(row.data) as JsonObject;

/** Stored form: canonical attributes plus `active` (defaults to true), without id and meta. */
function storedForm(input: unknown): JsonObject {
  const data = coerceResource(input, USER_TYPE);
  data.active = data.active !== false;
  return data;
}

export class ScimUserService {
  /** What each connection's last create read, to plan the next one on (guessNewAccount). */
  private readonly known = new KnownConnections();

  constructor(private readonly c: Container) {}

  async get(ctx: ScimContext, id: string, withGroups = true): Promise<JsonObject> {
    const row = await q.findScimUser(this.c.db, ctx.directoryId, id);
    if (!row) throw resourceNotFound('User', id);
    const groups = withGroups ? (await q.groupsOfUsers(this.c.db, ctx.directoryId, [id])).get(id) : undefined;
    return userResource(row, ctx.baseUrl, groups);
  }

  async create(ctx: ScimContext, body: unknown): Promise<JsonObject> {
    const data = storedForm(body);
    const f = userFields(data);
    let row: q.ScimUserRow;
    try {
      row = await this.insert(ctx, data, f, true);
    } catch (err) {
      if (!isExpectationFailed(err)) throw err;
      // The account was planned on what the connection's last create read, and that has changed
      // (see guessNewAccount): nothing was written; read, then write.
      this.known.forget(ctx.connectionId);
      row = await this.insert(ctx, data, f, false);
    }
    return userResource(row, ctx.baseUrl);
  }

  private insert(ctx: ScimContext, data: JsonObject, f: UserFields, guess: boolean): Promise<q.ScimUserRow> {
    return write(this.c, ctx, `userName "${f.userName}"`, async (trx) => {
      const fields = globalFields(data, f);
      const link = (guess ? await guessNewAccount(trx, ctx.connectionId, fields, this.c.ids, ctx.at, this.known) : undefined) ?? (await planGlobalUser(trx, ctx.connectionId, fields, this.c.ids, ctx.at, this.known));
      const row: q.ScimUserRow = {
        id: this.c.ids.uuid(),
        directory_id: ctx.directoryId,
        user_id: link.userId,
        ...storedColumns(data, f),
        version: 1,
        created_at: ctx.at,
        updated_at: ctx.at,
      };
      // The account (when new), the SCIM user, its emails, the audit entry and the event: one
      // statement on PostgreSQL, parents first, sent with the next statement or with COMMIT. A
      // userName taken meanwhile fails the transaction there: still a 409 (see write).
      const types: EventType[] = ['user.provisioned'];
      await insertBatch(
        trx,
        [
          { table: 'users', rows: link.account ? [link.account] : [] },
          ...q.scimUserInserts(row, emailRows(row.id, ctx.directoryId, f)),
          ...this.recordRows(ctx, row, types, 'POST /Users'),
        ],
        { atCommit: true },
      );
      // Re-created after a DELETE: the IdP grants the account again (a brand-new user has no tombstone).
      if (!link.created) await trx('scim_user_tombstones').where({ directory_id: ctx.directoryId, user_id: link.userId }).delete();
      await this.c.scimLifecycle.userProvisioned(trx, { ...this.change(ctx, row, 'POST /Users'), newAccount: link.created, membershipSync: link.membershipSync });
      return row;
      // Creates arriving together share a transaction (group commit): an initial sync sends many at once.
    }, { together: true });
  }

  replace(ctx: ScimContext, id: string, body: unknown, ifMatch?: string): Promise<JsonObject> {
    const data = coerceResource(body, USER_TYPE);
    // A PUT that leaves `active` out keeps it: leaving it out must never reactivate anyone.
    return this.update(ctx, id, ifMatch, 'PUT', (current) => ({ ...data, active: typeof data.active === 'boolean' ? data.active : current.active !== false }));
  }

  patch(ctx: ScimContext, id: string, ops: PatchOp[], ifMatch?: string): Promise<JsonObject> {
    return this.update(ctx, id, ifMatch, 'PATCH', (current) => {
      const next = applyPatch(current, ops, USER_TYPE);
      next.active = next.active !== false;
      return next;
    });
  }

  private async update(ctx: ScimContext, id: string, ifMatch: string | undefined, method: 'PUT' | 'PATCH', change: (current: JsonObject) => JsonObject) {
    const result = await write(this.c, ctx, 'userName', async (trx) => {
      const query = q.findScimUser(trx, ctx.directoryId, id);
      const row = await (lockable(trx) ? query.forUpdate() : query);
      if (!row) throw resourceNotFound('User', id);
      checkIfMatch(ifMatch, row.version);
      const before = parse(row);
      const data = change(before);
      const f = userFields(data);
      if (JSON.stringify(data) === JSON.stringify(before)) return row; // nothing changed: no new version
      const next: q.ScimUserRow = { ...row, ...storedColumns(data, f), version: row.version + 1, updated_at: ctx.at };
      await q.updateScimUser(trx, next, row.version, emailRows(id, ctx.directoryId, f));
      if (next.user_id) await syncGlobalUser(trx, ctx.connectionId, next.user_id, globalFields(data, f), ctx.at);
      const wasActive = before.active !== false;
      const { active: _a, ...restBefore } = before;
      const { active: _b, ...restAfter } = data;
      const types: EventType[] = [];
      if (JSON.stringify(restBefore) !== JSON.stringify(restAfter)) types.push('user.updated');
      const action = `${method} active=${f.active}`;
      if (wasActive && !f.active) types.push('user.deactivated');
      if (!wasActive && f.active) types.push('user.reactivated');
      await this.record(trx, ctx, next, types, types.length === 1 && types[0] === 'user.updated' ? `${method} /Users` : action);
      if (wasActive && !f.active) await this.c.scimLifecycle.userDeactivated(trx, this.change(ctx, next, action));
      if (!wasActive && f.active) await this.c.scimLifecycle.userReactivated(trx, this.change(ctx, next, action));
      return next;
    });
    const groups = (await q.groupsOfUsers(this.c.db, ctx.directoryId, [id])).get(id);
    return userResource(result, ctx.baseUrl, groups);
  }

  async delete(ctx: ScimContext, id: string, ifMatch?: string): Promise<void> {
    await write(this.c, ctx, 'userName', async (trx) => {
      const row = await q.findScimUser(trx, ctx.directoryId, id);
      if (!row) throw resourceNotFound('User', id);
      checkIfMatch(ifMatch, row.version);
      await q.deleteScimUser(trx, ctx.directoryId, id);
      if (row.user_id) {
        await trx('scim_user_tombstones')
          .insert({ directory_id: ctx.directoryId, user_id: row.user_id, scim_user_id: id, user_name_lower: row.user_name_lower, external_id: row.external_id, deleted_at: ctx.at })
          .onConflict(['directory_id', 'user_id'])
          .merge();
      }
      await this.record(trx, ctx, row, ['user.deleted'], 'DELETE /Users');
      await this.c.scimLifecycle.userDeleted(trx, this.change(ctx, row, 'DELETE /Users'));
    });
  }

  private change(ctx: ScimContext, row: q.ScimUserRow, action: string) {
    return { directoryId: ctx.directoryId, connectionId: ctx.connectionId, scimUserId: row.id, userId: row.user_id, at: ctx.at, action };
  }

  /** Audit and outbox entries for a user change, in the change's transaction. */
  private async record(trx: Trx, ctx: ScimContext, row: q.ScimUserRow, types: EventType[], action: string): Promise<void> {
    await insertBatch(trx, this.recordRows(ctx, row, types, action));
  }

  private recordRows(ctx: ScimContext, row: q.ScimUserRow, types: EventType[], action: string): InsertBatch[] {
    if (types.length === 0) return [];
    const detail = { directory_id: ctx.directoryId, scim_user_id: row.id, user_name: row.user_name, action };
    return [
      { table: 'audit_events', rows: this.c.audit.rows(...types.map((t) => ({ action: t, actor: ctx.actor, targetUserId: row.user_id, detail }))) },
      { table: 'events', rows: this.c.events.rows(...types.map((t) => ({ type: t, userId: row.user_id, data: detail }))) },
    ];
  }
}

