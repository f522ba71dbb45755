/**
 * A membership refers to an organization and a user that exist, and goes with either (SPEC: a
 * removal deletes only the membership; deleting an organization removes its memberships). SQLite
 * keeps this with foreign keys; PostgreSQL with the statement triggers of migration 307, which
 * check each inserting statement's rows at once. The first tests run on the default database (a
 * SQLite file, or PostgreSQL under TEST_DATABASE_URL); the races and the trigger's details need
 * PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../helpers/db.js';
import { migrateLatest } from '../../src/platform/db.js';
import { isForeignKeyViolation } from '../../src/platform/db-errors.js';

const at = '2026-12-07T00:00:00.000Z';
const onPg = !!TEST_DATABASE_URL;

let d: TestDatabase;
/** Unique per test, so a waiting statement can be found by its text in pg_stat_activity. */
let o1: string;

beforeEach(async () => {
  d = await createTestDatabase();
  await migrateLatest(d.db);
  o1 = `o1-${randomBytes(4).toString('hex')}`;
  await d.db('users').insert(['u1', 'u2'].map((id) => ({ id, email: `${id}@example.com`, email_lower: `${id}@example.com`, active: true, created_at: at, updated_at: at })));
  await d.db('organizations').insert([o1, 'o2', 'o3'].map((id) => ({ id, name: id, display_name: id, created_at: at, updated_at: at })));
});

/** Transactions a test opens: rolled back if a failed test left them open, so the cleanup does not wait on them. */
const open: Knex.Transaction[] = [];
const begin = async () => {
  const trx = await d.db.transaction();
  open.push(trx);
  return trx;
};

afterEach(async () => {
  for (const trx of open.splice(0)) if (!trx.isCompleted()) await trx.rollback().catch(() => undefined);
  await d.cleanup();
});

const membership = (organization_id: string, user_id: string) => ({ organization_id, user_id, role: 'member', source: 'sso', status: 'active', joined_at: at });
const memberships = async () => (await d.db('memberships').orderBy(['organization_id', 'user_id']).select('organization_id', 'user_id')).map((m) => `${m.organization_id}/${m.user_id}`);

/** The error of `write`, which must fail. */
async function failure(write: PromiseLike<unknown>): Promise<{ code?: string; constraint?: string; detail?: string }> {
  try {
    await write;
  } catch (err) {
    return err as { code?: string; constraint?: string; detail?: string };
  }
  throw new Error('the write succeeded');
}

describe('memberships and the organizations and users they refer to', () => {
  it('an insert refers to rows that exist, or fails whole with the foreign-key error and writes nothing', async () => {
    await d.db('memberships').insert([membership(o1, 'u1'), membership('o2', 'u1')]);
    const noOrg = await failure(d.db('memberships').insert([membership('o3', 'u1'), membership('gone', 'u1')]));
    expect(isForeignKeyViolation(noOrg)).toBe(true);
    const noUser = await failure(d.db('memberships').insert([membership('o3', 'u2'), membership('o3', 'nobody')]));
    expect(isForeignKeyViolation(noUser)).toBe(true);
    if (onPg) {
      expect(noOrg).toMatchObject({ code: '23503', constraint: 'memberships_organization_id_foreign', detail: 'Key (organization_id)=(gone) is not present in table "organizations".' });
      expect(noUser).toMatchObject({ code: '23503', constraint: 'memberships_user_id_foreign', detail: 'Key (user_id)=(nobody) is not present in table "users".' });
    }
    expect(await memberships()).toEqual([`${o1}/u1`, 'o2/u1']);
  });

  it('deleting organizations or a user deletes their memberships and no others; the accounts stay', async () => {
    await d.db('memberships').insert([membership(o1, 'u1'), membership('o2', 'u1'), membership('o3', 'u1'), membership(o1, 'u2'), membership('o2', 'u2')]);
    await d.db('organizations').where({ id: o1 }).delete();
    expect(await memberships()).toEqual(['o2/u1', 'o2/u2', 'o3/u1']);
    await d.db('users').where({ id: 'u2' }).delete();
    expect(await memberships()).toEqual(['o2/u1', 'o3/u1']);
    await d.db('organizations').whereIn('id', ['o2', 'o3']).delete();
    expect(await memberships()).toEqual([]);
    expect(await d.db('users').pluck('id')).toEqual(['u1']);
  });

  it('a key changes only to a row that exists, and an id others refer to does not change', async () => {
    await d.db('memberships').insert([membership(o1, 'u1')]);
    expect(isForeignKeyViolation(await failure(d.db('memberships').where({ organization_id: o1 }).update({ organization_id: 'gone' })))).toBe(true);
    expect(isForeignKeyViolation(await failure(d.db('memberships').where({ organization_id: o1 }).update({ user_id: 'nobody' })))).toBe(true);
    await d.db('memberships').where({ organization_id: o1 }).update({ organization_id: 'o3', user_id: 'u2' });
    expect(await memberships()).toEqual(['o3/u2']);
    const renamed = await failure(d.db('organizations').where({ id: 'o3' }).update({ id: 'o4' }));
    expect(isForeignKeyViolation(renamed)).toBe(true);
    if (onPg) expect(renamed).toMatchObject({ code: '23503', constraint: 'memberships_organization_id_foreign' });
    expect(isForeignKeyViolation(await failure(d.db('users').where({ id: 'u2' }).update({ id: 'u9' })))).toBe(true);
    // An organization nobody belongs to may change its id; updates that keep the keys pass.
    await d.db('organizations').where({ id: 'o2' }).update({ id: 'o5' });
    await d.db('memberships').where({ organization_id: 'o3' }).update({ role: 'admin', status: 'flagged' });
    expect(await memberships()).toEqual(['o3/u2']);
  });
});

describe.skipIf(!onPg)('PostgreSQL: the reference checks of migration 307 under concurrent deletions', () => {
  /** Resolves once a statement containing `text` waits for a lock. */
  async function waiting(text: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const r = await d.db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND position(? in query) > 0 AND pid <> pg_backend_pid()`, [text]);
      if (r.rows[0].n > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no statement waits: ${text}`);
  }

  it('a deletion waits for the transaction that added members, then deletes what it committed', async () => {
    const trx = await begin();
    await trx('memberships').insert([membership(o1, 'u1'), membership('o2', 'u1')]);
    // Knex runs a statement when it is awaited or `then` is called: started here, awaited below.
    const deleting = d.db.raw(`DELETE FROM "organizations" WHERE "id" = '${o1}'`).then(() => undefined);
    await waiting(o1);
    await trx.commit();
    await deleting;
    expect(await memberships()).toEqual(['o2/u1']);
  });

  it('an insert waits for a deletion under way and fails once it commits; after a rollback it passes', async () => {
    const deleter = await begin();
    await deleter('organizations').where({ id: o1 }).delete();
    const inserting = failure(d.db.raw(`INSERT INTO "memberships" ("organization_id", "user_id", "role", "source", "status", "joined_at") VALUES ('${o1}', 'u1', 'member', 'sso', 'active', '${at}')`));
    await waiting(o1);
    await deleter.commit();
    expect(await inserting).toMatchObject({ code: '23503', constraint: 'memberships_organization_id_foreign' });
    expect(await memberships()).toEqual([]);

    const undone = await begin();
    await undone('organizations').where({ id: 'o2' }).delete();
    const added = d.db.raw(`INSERT INTO "memberships" ("organization_id", "user_id", "role", "source", "status", "joined_at") VALUES ('o2', 'u1', 'member', 'sso', 'active', '${at}') -- ${o1}-2`).then(() => undefined);
    await waiting(`${o1}-2`);
    await undone.rollback();
    await added;
    expect(await memberships()).toEqual(['o2/u1']);
  });

  it('deletes from a session with another search path, and on TRUNCATE … CASCADE, reach this schema’s memberships', async () => {
    await d.db('memberships').insert([membership(o1, 'u1'), membership('o2', 'u1'), membership('o3', 'u2')]);
    const other = knexFactory({ client: 'pg', connection: TEST_DATABASE_URL, pool: { min: 0, max: 1 } });
    try {
      await other.raw('DELETE FROM ??.?? WHERE "id" = ?', [d.schema!, 'organizations', o1]);
      expect(await memberships()).toEqual(['o2/u1', 'o3/u2']);
      await other.raw('TRUNCATE ??.?? CASCADE', [d.schema!, 'organizations']);
    } finally {
      await other.destroy();
    }
    expect(await memberships()).toEqual([]);
    expect(await d.db('users').orderBy('id').pluck('id')).toEqual(['u1', 'u2']);
  });
});
