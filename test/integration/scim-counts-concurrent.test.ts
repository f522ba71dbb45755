/**
 * A directory's kept resource counts (`totalResults` of an unfiltered list, `users`/`groups` of the
 * directory) stay exact under concurrent creates and deletes, and on PostgreSQL keeping them no
 * longer makes one directory's creates wait for each other's commit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { TEST_DATABASE_URL } from '../helpers/db.js';
import { createScimDirectory } from '../helpers/scim-builders.js';
import { inTransaction } from '../../src/platform/transaction.js';
import { uuidv7 } from '../../src/platform/ids.js';

let t: TestApp;
afterEach(async () => t?.close());

const total = async (s: Awaited<ReturnType<typeof createScimDirectory>>, kind: 'Users' | 'Groups') => {
  // count=1: the page is full, so totalResults is the kept count, not the page's length.
  const r = await s.req('GET', `/${kind}?startIndex=1&count=1`);
  expect(r.status).toBe(200);
  return r.body.totalResults as number;
};

describe('kept resource counts', () => {
  it('stay exact through concurrent creates and deletes in two directories, and go away with their directory', async () => {
    t = await startTestApp();
    const a = await createScimDirectory(t, { domains: ['a.test'], name: 'dir-a' });
    const b = await createScimDirectory(t, { domains: ['b.test'], name: 'dir-b' });
    const created: Record<string, string[]> = { a: [], b: [] };
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 6; i++) {
          const [s, key] = (w + i) % 2 === 0 ? [a, 'a'] : [b, 'b'];
          const r = await s.req('POST', '/Users', { body: { userName: `u${w}-${i}@${key}.test` } });
          expect(r.status).toBe(201);
          created[key]!.push(r.body.id as string);
        }
      }),
    );
    await Promise.all([...created.a!.slice(0, 5).map((id) => a.req('DELETE', `/Users/${id}`)), ...created.b!.slice(0, 3).map((id) => b.req('DELETE', `/Users/${id}`))]);
    expect((await a.req('POST', '/Groups', { body: { displayName: 'g1' } })).status).toBe(201);

    const rows = async (dir: string) => Number((await t.container.db('scim_users').where({ directory_id: dir }).count({ n: '*' }))[0]!.n);
    expect(await total(a, 'Users')).toBe(await rows(a.directoryId));
    expect(await total(b, 'Users')).toBe(await rows(b.directoryId));
    expect(await total(a, 'Users')).toBe(created.a!.length - 5);
    expect(await total(b, 'Users')).toBe(created.b!.length - 3);
    expect(await total(a, 'Groups')).toBe(1);
    expect(await total(b, 'Groups')).toBe(0);
    const dirA = (await t.api('GET', `/api/v1/directories/${a.directoryId}`)).body;
    expect(dirA).toMatchObject({ users: created.a!.length - 5, groups: 1 });

    // A bulk insert of many rows in one statement is counted too (seeding, pull directories).
    const now = new Date().toISOString();
    await t.container.db('scim_users').insert(
      Array.from({ length: 50 }, (_, i) => ({ id: uuidv7(), directory_id: b.directoryId, user_name: `bulk${i}@b.test`, user_name_lower: `bulk${i}@b.test`, active: true, data: '{}', version: 1, created_at: now, updated_at: now })),
    );
    expect(await total(b, 'Users')).toBe(created.b!.length - 3 + 50);

    // Deleting a directory (its users cascade) leaves no count behind and the other one intact.
    await inTransaction(t.container.db, (trx) => trx('directories').where({ id: a.directoryId }).delete());
    if (TEST_DATABASE_URL) expect(await t.container.db('directory_resource_counts').where({ directory_id: a.directoryId })).toEqual([]);
    expect(await total(b, 'Users')).toBe(await rows(b.directoryId));
  });

  it.skipIf(!TEST_DATABASE_URL)('on PostgreSQL, a create does not wait for another uncommitted create of the same directory', async () => {
    t = await startTestApp();
    const s = await createScimDirectory(t, { domains: ['a.test'] });
    let inserted!: () => void;
    const held = new Promise<void>((r) => (inserted = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const now = new Date().toISOString();
    const open = inTransaction(t.container.db, async (trx) => {
      await trx('scim_users').insert({ id: uuidv7(), directory_id: s.directoryId, user_name: 'held@a.test', user_name_lower: 'held@a.test', active: true, data: '{}', version: 1, created_at: now, updated_at: now });
      inserted();
      await gate;
    });
    await held;
    try {
      const create = s.req('POST', '/Users', { body: { userName: 'free@a.test' } }).then((r) => r.status);
      const outcome = await Promise.race([create, new Promise((r) => setTimeout(() => r('waiting'), 3000))]);
      expect(outcome).toBe(201);
    } finally {
      release();
      await open;
    }
    expect(await total(s, 'Users')).toBe(2);
  });
});
