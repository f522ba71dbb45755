import { PullError, requestJson, sameOrigin } from './http-client.js';
import type { PulledUser } from './pulled.js';
import type { PullRunContext } from './run-context.js';
import type { GraphSettings } from './settings.js';
import { sweepGroups, sweepUsers } from './sweep.js';

export const GRAPH_DEFAULT_BASE = 'https://graph.microsoft.com/v1.0';
const USER_SELECT = 'id,displayName,givenName,surname,userPrincipalName,mail,accountEnabled';

type Phase = 'users' | 'groups';

/**
 * Where a Graph directory stands. `usersDelta`/`groupsDelta`: the deltaLinks of the last complete
 * rounds. `phase`/`next`: the page a run stopped at. `pass`: the full pass in progress (first run,
 * or after the delta token expired), whose end deletes what it did not see; `sweep` marks a pass
 * that has read everything and still has its sweep to finish, with the deltaLink to keep after it.
 */
export interface GraphCursor {
  usersDelta: string | null;
  groupsDelta: string | null;
  phase: Phase;
  next: string | null;
  pass: string | null;
  sweep: string | null;
}

const emptyCursor = (): GraphCursor => ({ usersDelta: null, groupsDelta: null, phase: 'users', next: null, pass: null, sweep: null });

type GraphObject = Record<string, unknown> & { id?: unknown; '@removed'?: unknown };

const str = (v: unknown): string | null | undefined => (v === undefined ? undefined : typeof v === 'string' && v !== '' ? v : null);

/** Later delta rounds carry only the changed properties: each one is mapped only when present. */
export function graphUser(o: GraphObject): PulledUser {
  const u: PulledUser = { remoteId: String(o.id) };
  const upn = str(o.userPrincipalName);
  if (upn) u.userName = upn;
  if ('mail' in o) u.email = str(o.mail) ?? null;
  if ('givenName' in o) u.givenName = str(o.givenName) ?? null;
  if ('surname' in o) u.familyName = str(o.surname) ?? null;
  if ('displayName' in o) u.displayName = str(o.displayName) ?? null;
  if ('accountEnabled' in o) u.active = o.accountEnabled !== false;
  return u;
}

/** Client-credentials token for the Graph resource the base URL names (sovereign clouds too). */
async function fetchToken(ctx: PullRunContext, s: GraphSettings): Promise<{ token: string; expiresAt: number }> {
  const base = s.api_base_url ?? GRAPH_DEFAULT_BASE;
  const url = s.token_url ?? `https://login.microsoftonline.com/${encodeURIComponent(s.tenant_id)}/oauth2/v2.0/token`;
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: s.client_id, client_secret: ctx.target.secret, scope: `${new URL(base).origin}/.default` });
  let answer: unknown;
  try {
    answer = await requestJson(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() }, 'POST token', { ...ctx.http, maxRetries: 1 }, ctx.counter);
  } catch (err) {
    if (err instanceof PullError && err.code !== 'rate_limited') throw new PullError('token_error', `could not get a Microsoft Graph token (${err.message})`);
    throw err;
  }
  const a = answer as { access_token?: unknown; expires_in?: unknown };
  if (typeof a.access_token !== 'string') throw new PullError('token_error', 'the token endpoint answered without access_token');
  return { token: a.access_token, expiresAt: Date.now() + (Number(a.expires_in) || 3600) * 1000 };
}

/**
 * Microsoft Graph: `/users/delta` then `/groups/delta` (members in `members@delta`), page by page
 * through `@odata.nextLink`, ending with the `@odata.deltaLink` the next run starts from, so a quiet
 * directory costs one request per phase.
 */
export async function runGraph(ctx: PullRunContext): Promise<void> {
  const s = ctx.target.settings.microsoft_graph;
  if (!s) throw new PullError('invalid_response', 'the directory has no Microsoft Graph settings');
  const base = s.api_base_url ?? GRAPH_DEFAULT_BASE;
  let token = await fetchToken(ctx, s);
  const get = async (url: string, what: string) => {
    if (token.expiresAt - Date.now() < 60_000) token = await fetchToken(ctx, s);
    return requestJson(sameOrigin(url, base, what), { headers: { authorization: `Bearer ${token.token}` } }, what, ctx.http, ctx.counter) as Promise<Record<string, unknown>>;
  };
  let cursor: GraphCursor = { ...emptyCursor(), ...((ctx.cursor as Partial<GraphCursor> | null) ?? {}) };
  const initial: Record<Phase, string> = {
    users: `${base}/users/delta?$select=${USER_SELECT}`,
    groups: `${base}/groups/delta?$select=id,displayName,members`,
  };
  for (const phase of ['users', 'groups'] as const) {
    if (cursor.phase === 'groups' && phase === 'users') continue;
    const deltaKey = phase === 'users' ? 'usersDelta' : 'groupsDelta';
    if (cursor.phase !== phase || (!cursor.next && !cursor.sweep)) {
      cursor = { ...cursor, phase, next: cursor[deltaKey] ?? initial[phase], pass: cursor[deltaKey] ? null : ctx.c.ids.uuid(), sweep: null };
    }
    while (!cursor.sweep && cursor.next) {
      let body: Record<string, unknown>;
      try {
        body = await get(cursor.next, `GET /${phase}/delta`);
      } catch (err) {
        // An expired delta token: read everything again as a full pass (which may then sweep).
        // (A stale nextLink of an interrupted pass answers the same: that pass starts over.)
        if (err instanceof PullError && err.code === 'sync_state_lost' && (ctx.totals.full_resyncs ?? 0) < 2) {
          ctx.count('full_resyncs');
          cursor = { ...cursor, [deltaKey]: null, next: initial[phase], pass: ctx.c.ids.uuid() };
          continue;
        }
        throw err;
      }
      const items = Array.isArray(body.value) ? (body.value as GraphObject[]).filter((o) => typeof o.id === 'string') : [];
      // Checked before it is saved as the cursor: a foreign link would otherwise stick to every later run.
      const next = typeof body['@odata.nextLink'] === 'string' ? sameOrigin(body['@odata.nextLink'], base, `GET /${phase}/delta`) : null;
      const delta = typeof body['@odata.deltaLink'] === 'string' ? sameOrigin(body['@odata.deltaLink'], base, `GET /${phase}/delta`) : null;
      if (!next && !delta) throw new PullError('invalid_response', `GET /${phase}/delta: a page with neither nextLink nor deltaLink`);
      const after: GraphCursor = next ? { ...cursor, next } : cursor.pass ? { ...cursor, next: null, sweep: delta } : { ...cursor, next: null, [deltaKey]: delta };
      const pass = cursor.pass;
      await ctx.page(after, (w, trx) => (phase === 'users' ? applyUsers(ctx, w, trx, items, pass) : applyGroups(ctx, w, trx, items, pass)));
      ctx.count(`${phase}_seen`, items.length);
      cursor = after;
    }
    if (cursor.sweep && cursor.pass) {
      if (phase === 'users') await sweepUsers(ctx, cursor.pass, cursor);
      else await sweepGroups(ctx, cursor.pass, cursor);
      const done: GraphCursor = { ...cursor, [deltaKey]: cursor.sweep, next: null, sweep: null, pass: null };
      await ctx.page(done, async (_w, trx) => {
        // Also what an abandoned pass (a resync that restarted) left behind.
        await trx('directory_pull_seen').where({ directory_id: ctx.target.directoryId }).delete();
      });
      cursor = done;
    }
    if (phase === 'users') cursor = { ...cursor, phase: 'groups', next: null, pass: null, sweep: null };
  }
  // Ready for the next run: start again from the users' deltaLink.
  await ctx.page({ ...cursor, phase: 'users', next: null, pass: null, sweep: null }, async () => {});
}

type Writer = Parameters<Parameters<PullRunContext['page']>[1]>[0];
type Trx = Parameters<Parameters<PullRunContext['page']>[1]>[1];

async function applyUsers(ctx: PullRunContext, w: Writer, trx: Trx, items: GraphObject[], pass: string | null): Promise<void> {
  const removed = items.filter((o) => o['@removed'] !== undefined).map((o) => String(o.id));
  const present = items.filter((o) => o['@removed'] === undefined).map(graphUser);
  await w.upsertUsers(present);
  await w.deleteUsers(removed, 'deleted');
  if (pass) await ctx.markSeen(trx, pass, 'user', present.map((u) => u.remoteId));
}

async function applyGroups(ctx: PullRunContext, w: Writer, trx: Trx, items: GraphObject[], pass: string | null): Promise<void> {
  for (const o of items) {
    const id = String(o.id);
    if (o['@removed'] !== undefined) {
      await w.deleteGroup(id);
      continue;
    }
    const existing = await w.findGroup(id);
    const displayName = typeof o.displayName === 'string' ? o.displayName : (existing?.display_name ?? id);
    const group = existing && typeof o.displayName !== 'string' ? existing : await w.upsertGroup({ remoteId: id, displayName });
    const members = Array.isArray(o['members@delta']) ? (o['members@delta'] as GraphObject[]) : [];
    // Only users count: nested groups, devices and service principals are not people to flag.
    const users = members.filter((m) => typeof m.id === 'string' && (m['@odata.type'] === undefined || m['@odata.type'] === '#microsoft.graph.user'));
    const added = users.filter((m) => m['@removed'] === undefined).map((m) => String(m.id));
    const gone = users.filter((m) => m['@removed'] !== undefined).map((m) => String(m.id));
    await w.addMembers(group, added);
    await w.removeMembersByRemoteId(group, gone);
    if (pass) {
      await ctx.markSeen(trx, pass, 'group', [id]);
      await ctx.markSeen(trx, pass, 'member', added.map((u) => `${id}:${u}`));
    }
  }
}
