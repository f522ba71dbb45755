import { createSign } from 'node:crypto';
import { PullError, requestJson } from './http-client.js';
import type { PulledUser } from './pulled.js';
import type { PullRunContext } from './run-context.js';
import type { GoogleSettings } from './settings.js';
import { sweepGroups, sweepMembers, sweepUsers } from './sweep.js';
import { rulesOfConnection } from '../flags/grants.js';

export const GOOGLE_DEFAULT_BASE = 'https://admin.googleapis.com/admin/directory/v1';
export const GOOGLE_DEFAULT_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const GOOGLE_SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.user.readonly',
  'https://www.googleapis.com/auth/admin.directory.group.readonly',
  'https://www.googleapis.com/auth/admin.directory.group.member.readonly',
];

type Phase = 'users' | 'suspended' | 'deleted' | 'groups' | 'members' | 'sweep';

/**
 * Where a Google run stands. Google has no delta queries for users, so there are two kinds of run:
 * a full pass (users, deleted users, groups, every group's members, then a sweep of what it did
 * not see), at most every `FULL_PASS_EVERY_MS` and whenever none has completed; and between full
 * passes a light run that reads only what flags depend on: suspended users, deleted users, and
 * the member lists of the groups the connection's rules name. `group` is the group being read.
 */
export interface GoogleCursor {
  pass: string;
  mode: 'full' | 'light';
  phase: Phase;
  pageToken: string | null;
  group: string | null;
  /** When the last full pass completed (ISO), null before the first. */
  lastFullAt: string | null;
}

export const FULL_PASS_EVERY_MS = 3_600_000;

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/** Signs the service-account assertion (RFC 7523) impersonating the admin (domain-wide delegation). */
export function serviceAccountAssertion(clientEmail: string, privateKey: string, subject: string, audience: string, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = b64url(JSON.stringify({ iss: clientEmail, sub: subject, scope: GOOGLE_SCOPES.join(' '), aud: audience, iat, exp: iat + 3600 }));
  const signer = createSign('RSA-SHA256');
  signer.update(`${head}.${claims}`);
  return `${head}.${claims}.${signer.sign(privateKey).toString('base64url')}`;
}

async function fetchToken(ctx: PullRunContext, s: GoogleSettings): Promise<{ token: string; expiresAt: number }> {
  // Never the key file's token_uri: the URL the signed assertion goes to is the directory's setting.
  const url = s.token_url ?? GOOGLE_DEFAULT_TOKEN_URL;
  let assertion: string;
  try {
    assertion = serviceAccountAssertion(s.client_email, ctx.target.secret, s.admin_email, url, Date.now());
  } catch {
    throw new PullError('token_error', 'the service account private key cannot sign');
  }
  const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString();
  let answer: unknown;
  try {
    answer = await requestJson(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }, 'POST token', { ...ctx.http, maxRetries: 1 }, ctx.counter);
  } catch (err) {
    if (err instanceof PullError && err.code !== 'rate_limited') throw new PullError('token_error', `could not get a Google token (${err.message})`);
    throw err;
  }
  const a = answer as { access_token?: unknown; expires_in?: unknown };
  if (typeof a.access_token !== 'string') throw new PullError('token_error', 'the token endpoint answered without access_token');
  return { token: a.access_token, expiresAt: Date.now() + (Number(a.expires_in) || 3600) * 1000 };
}

type GoogleObject = Record<string, unknown>;

export function googleUser(o: GoogleObject): PulledUser {
  const name = (o.name ?? {}) as GoogleObject;
  const s = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return {
    remoteId: String(o.id),
    userName: String(o.primaryEmail),
    email: s(o.primaryEmail),
    givenName: s(name.givenName),
    familyName: s(name.familyName),
    displayName: s(name.fullName),
    // Archived users keep their data but cannot sign in: as good as suspended for access.
    active: o.suspended !== true && o.archived !== true,
  };
}

/**
 * Google Workspace Admin SDK Directory API: users.list (and with `showDeleted` the deleted ones),
 * groups.list and members.list, by page token. What it did not list is acted on only after the
 * whole pass has been read.
 */
export async function runGoogle(ctx: PullRunContext): Promise<void> {
  const s = ctx.target.settings.google_workspace;
  if (!s) throw new PullError('invalid_response', 'the directory has no Google Workspace settings');
  const base = s.api_base_url ?? GOOGLE_DEFAULT_BASE;
  const scope = s.domain ? `domain=${encodeURIComponent(s.domain)}` : `customer=${encodeURIComponent(s.customer_id ?? 'my_customer')}`;
  let token = await fetchToken(ctx, s);
  const get = async (path: string, pageToken: string | null, what: string) => {
    if (token.expiresAt - Date.now() < 60_000) token = await fetchToken(ctx, s);
    const url = `${base}${path}${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`;
    return requestJson(url, { headers: { authorization: `Bearer ${token.token}` } }, what, ctx.http, ctx.counter) as Promise<GoogleObject>;
  };
  const saved = ctx.cursor as GoogleCursor | null;
  const nowMs = ctx.c.clock.now().getTime();
  let cursor: GoogleCursor;
  if (saved?.pass && saved.phase) cursor = saved;
  else {
    const lastFullAt = saved?.lastFullAt ?? null;
    const full = !lastFullAt || nowMs - Date.parse(lastFullAt) >= FULL_PASS_EVERY_MS;
    cursor = { pass: ctx.c.ids.uuid(), mode: full ? 'full' : 'light', phase: full ? 'users' : 'suspended', pageToken: null, group: null, lastFullAt };
  }
  const advance = (body: GoogleObject, then: Partial<GoogleCursor>): GoogleCursor =>
    typeof body.nextPageToken === 'string' && body.nextPageToken ? { ...cursor, pageToken: body.nextPageToken } : { ...cursor, ...then, pageToken: null };
  const list = (body: GoogleObject, key: string) => (Array.isArray(body[key]) ? (body[key] as GoogleObject[]).filter((o) => typeof o.id === 'string') : []);
  ctx.count(cursor.mode === 'full' ? 'full_passes' : 'light_runs');

  while (cursor.phase === 'users') {
    const body = await get(`/users?${scope}&maxResults=500&projection=basic&orderBy=email`, cursor.pageToken, 'GET users.list');
    const users = list(body, 'users').filter((o) => typeof o.primaryEmail === 'string').map(googleUser);
    const next = advance(body, { phase: 'deleted' });
    const pass = cursor.pass;
    await ctx.page(next, async (w, trx) => {
      await w.upsertUsers(users);
      await ctx.markSeen(trx, pass, 'user', users.map((u) => u.remoteId));
    });
    ctx.count('users_seen', users.length);
    cursor = next;
  }
  while (cursor.phase === 'suspended') {
    // Only suspensions of users this directory already has: new users wait for the next full pass.
    const body = await get(`/users?${scope}&maxResults=500&projection=basic&query=${encodeURIComponent('isSuspended=true')}`, cursor.pageToken, 'GET users.list isSuspended');
    const users = list(body, 'users').filter((o) => typeof o.primaryEmail === 'string').map(googleUser);
    const next = advance(body, { phase: 'deleted' });
    await ctx.page(next, (w) => w.updateKnownUsers(users));
    cursor = next;
  }
  while (cursor.phase === 'deleted') {
    // `showDeleted=true` lists only the deleted users (those deleted in the last 20 days).
    const body = await get(`/users?${scope}&maxResults=500&projection=basic&showDeleted=true`, cursor.pageToken, 'GET users.list showDeleted');
    const gone = list(body, 'users').map((o) => String(o.id));
    const next = cursor.mode === 'full' ? advance(body, { phase: 'groups' }) : advance(body, { phase: 'members', group: null });
    const pass = cursor.pass;
    const light = cursor.mode === 'light';
    await ctx.page(next, async (w, trx) => {
      await w.deleteUsers(gone, 'deleted');
      // A light run reads the member lists of the groups the rules name: those are its "seen" groups.
      if (light && !next.pageToken) await ctx.markSeen(trx, pass, 'group', await ruleGroupIds(ctx, trx));
    });
    cursor = next;
  }
  while (cursor.phase === 'groups') {
    const body = await get(`/groups?${scope}&maxResults=200`, cursor.pageToken, 'GET groups.list');
    const groups = list(body, 'groups');
    const next = advance(body, { phase: 'members', group: null });
    const pass = cursor.pass;
    await ctx.page(next, async (w, trx) => {
      // The group's email is its stable, unique name in rules; its id is the externalId.
      for (const g of groups) await w.upsertGroup({ remoteId: String(g.id), displayName: typeof g.email === 'string' ? g.email : String(g.name ?? g.id) });
      await ctx.markSeen(trx, pass, 'group', groups.map((g) => String(g.id)));
    });
    ctx.count('groups_seen', groups.length);
    cursor = next;
  }
  while (cursor.phase === 'members') {
    if (!cursor.group) {
      const [first] = await nextSeenGroup(ctx, cursor.pass, '');
      if (!first) {
        cursor = { ...cursor, phase: 'sweep', group: null, pageToken: null };
        break;
      }
      cursor = { ...cursor, group: first };
    }
    const groupId = cursor.group!;
    const body = await get(`/groups/${encodeURIComponent(groupId)}/members?maxResults=200`, cursor.pageToken, 'GET members.list');
    const members = list(body, 'members').filter((m) => m.type === undefined || m.type === 'USER').map((m) => String(m.id));
    let next: GoogleCursor;
    if (typeof body.nextPageToken === 'string' && body.nextPageToken) next = { ...cursor, pageToken: body.nextPageToken };
    else {
      const [after] = await nextSeenGroup(ctx, cursor.pass, groupId);
      next = after ? { ...cursor, group: after, pageToken: null } : { ...cursor, phase: 'sweep', group: null, pageToken: null };
    }
    const pass = cursor.pass;
    await ctx.page(next, async (w, trx) => {
      const group = await w.findGroup(groupId);
      if (group) await w.addMembers(group, members);
      await ctx.markSeen(trx, pass, 'member', members.map((m) => `${groupId}:${m}`));
    });
    cursor = next;
  }
  if (cursor.phase === 'sweep') {
    if (cursor.mode === 'full') {
      await sweepUsers(ctx, cursor.pass, cursor);
      await sweepGroups(ctx, cursor.pass, cursor);
    } else await sweepMembers(ctx, cursor.pass, cursor);
    const lastFullAt = cursor.mode === 'full' ? ctx.c.clock.now().toISOString() : cursor.lastFullAt;
    // The next run starts a new pass (full or light by lastFullAt).
    await ctx.page({ lastFullAt }, async (_w, trx) => {
      await trx('directory_pull_seen').where({ directory_id: ctx.target.directoryId }).delete();
    });
  }
}

/** Stored groups that a rule of the connection names, by email (displayName) or id (externalId). */
async function ruleGroupIds(ctx: PullRunContext, trx: Parameters<Parameters<PullRunContext['page']>[1]>[1]): Promise<string[]> {
  const names = [...new Set((await rulesOfConnection(trx, ctx.target.connectionId)).flatMap((r) => r.groups ?? []))];
  if (names.length === 0) return [];
  const rows = await trx('scim_groups')
    .where({ directory_id: ctx.target.directoryId })
    .where((w) => w.whereIn('display_name_lower', names.map((n) => n.toLowerCase())).orWhereIn('external_id', names))
    .whereNotNull('external_id')
    .select<Array<{ external_id: string }>>('external_id');
  return rows.map((r) => r.external_id);
}

async function nextSeenGroup(ctx: PullRunContext, passId: string, after: string): Promise<string[]> {
  const rows = await ctx.c.db('directory_pull_seen')
    .where({ directory_id: ctx.target.directoryId, pass_id: passId, kind: 'group' })
    .where('remote_id', '>', after)
    .orderBy('remote_id')
    .limit(1)
    .select<Array<{ remote_id: string }>>('remote_id');
  return rows.map((r) => r.remote_id);
}
