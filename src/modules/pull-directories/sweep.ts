import { PullError } from './http-client.js';
import type { PullRunContext } from './run-context.js';
import * as q from './queries.js';

const BATCH = 500;

/**
 * Acts on absence, and only after a pass has read everything: users, groups and group members the
 * source no longer lists are deleted or removed, a batch per transaction. The caller keeps the
 * cursor on "sweep pending" until this returns, so a sweep cut short runs again, never skipped.
 */
export async function sweepUsers(ctx: PullRunContext, passId: string, cursor: unknown): Promise<void> {
  const dir = ctx.target.directoryId;
  // A complete answer with no users at all is far likelier a wrong customer, domain or scope than
  // an emptied directory: refuse to delete everyone on it.
  if ((await q.countSeen(ctx.c.db, dir, passId, 'user')) === 0 && (await q.unseenUsers(ctx.c.db, dir, passId, 1)).length > 0) {
    throw new PullError('invalid_response', 'the directory listed no users at all; nothing was removed (check the customer, domain and permissions)');
  }
  for (;;) {
    const batch = await q.unseenUsers(ctx.c.db, dir, passId, BATCH);
    if (batch.length === 0) return;
    await ctx.page(cursor, (w) => w.deleteUsers(batch.map((u) => u.external_id), 'no longer listed'));
  }
}

export async function sweepGroups(ctx: PullRunContext, passId: string, cursor: unknown): Promise<void> {
  const dir = ctx.target.directoryId;
  for (;;) {
    const batch = await q.unseenGroups(ctx.c.db, dir, passId, 50);
    if (batch.length === 0) break;
    await ctx.page(cursor, async (w) => {
      for (const g of batch) await w.deleteGroup(g.external_id);
    });
  }
  await sweepMembers(ctx, passId, cursor);
}

/** Members no longer listed, only in the groups whose member lists this pass read in full. */
export async function sweepMembers(ctx: PullRunContext, passId: string, cursor: unknown): Promise<void> {
  const dir = ctx.target.directoryId;
  for (;;) {
    const batch = await q.unseenMembers(ctx.c.db, dir, passId, BATCH);
    if (batch.length === 0) return;
    const byGroup = new Map<string, string[]>();
    for (const m of batch) byGroup.set(m.group_id, [...(byGroup.get(m.group_id) ?? []), m.scim_user_id]);
    await ctx.page(cursor, async (w, trx) => {
      for (const [groupId, members] of byGroup) {
        const group = await trx('scim_groups').where({ directory_id: dir, id: groupId }).first();
        if (group) await w.removeMembers(group, members, 'group member no longer listed');
      }
    });
  }
}
