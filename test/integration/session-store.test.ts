import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionData } from 'express-session';
import { DbSessionStore } from '../../src/http/session-store.js';
import { revokeUserSessions } from '../../src/modules/sessions/queries.js';
import { migrateLatest } from '../../src/platform/db.js';
import { ManualClock } from '../../src/platform/clock.js';
import { sha256 } from '../../src/platform/crypto.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let d: TestDatabase;
let clock: ManualClock;
let store: DbSessionStore;
beforeEach(async () => {
  d = await createTestDatabase();
  await migrateLatest(d.db);
  clock = new ManualClock(new Date('2026-05-01T12:00:00Z'));
  store = new DbSessionStore(d.db, clock);
});
afterEach(async () => {
  await d.cleanup();
});

const get = (sid: string) => new Promise<SessionData | null | undefined>((res, rej) => store.get(sid, (err, s) => (err ? rej(err) : res(s))));
const set = (sid: string, s: Partial<SessionData>) => new Promise<void>((res, rej) => store.set(sid, s as SessionData, (err) => (err ? rej(err) : res())));

describe('database session store', () => {
  it('stores sessions by the hash of their id and shares them across store instances', async () => {
    const expires = new Date('2026-05-01T20:00:00Z');
    await set('sid-1', { userId: 'u1', cookie: { expires, originalMaxAge: null } as SessionData['cookie'] });
    const rows = await d.db('sessions').select('id_hash', 'user_id');
    expect(rows).toEqual([{ id_hash: sha256('sid-1'), user_id: 'u1' }]);
    const other = new DbSessionStore(d.db, clock);
    const read = await new Promise<SessionData | null | undefined>((res) => other.get('sid-1', (_e, s) => res(s)));
    expect(read?.userId).toBe('u1');
  });

  it('treats expired sessions as absent', async () => {
    await set('sid-2', { userId: 'u1', cookie: { expires: new Date('2026-05-01T12:30:00Z'), originalMaxAge: null } as SessionData['cookie'] });
    expect((await get('sid-2'))?.userId).toBe('u1');
    clock.advance(31 * 60 * 1000);
    expect(await get('sid-2')).toBeNull();
  });

  it('revokes every session of one user only', async () => {
    await set('a', { userId: 'u1' });
    await set('b', { userId: 'u1' });
    await set('c', { userId: 'u2' });
    expect(await revokeUserSessions(d.db, 'u1')).toBe(2);
    expect(await get('a')).toBeNull();
    expect((await get('c'))?.userId).toBe('u2');
  });

  it('destroys a session', async () => {
    await set('x', { userId: 'u3' });
    await new Promise<void>((res) => store.destroy('x', () => res()));
    expect(await get('x')).toBeNull();
  });
});
