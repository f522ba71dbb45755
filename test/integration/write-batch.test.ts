import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { dialectOf, migrateLatest } from '../../src/platform/db.js';
import { inTransaction } from '../../src/platform/transaction.js';
import { WriteBatch } from '../../src/modules/membership-sync/write-batch.js';

/** The login sync's write batch on the database under test (one chained statement on PostgreSQL). */
let d: TestDatabase;
const at = '2026-02-01T00:00:00.000Z';
const user = (id: string) => ({ id, email: `${id}@x.example`, email_lower: `${id}@x.example`, name: null, active: true, created_at: at, updated_at: at });
const org = (id: string) => ({ id, name: id, display_name: id, created_at: at, updated_at: at });
const membership = (organization_id: string, user_id: string) => ({ organization_id, user_id, role: 'member', source: 'sso', status: 'active', joined_at: at, last_synced_at: at });
const audit = (id: string, action: string) => ({ id, at, actor_type: 'system', actor_id: null, action, organization_id: null, target_user_id: null, detail: '{}' });

beforeEach(async () => {
  d = await createTestDatabase();
  await migrateLatest(d.db);
  await d.db('organizations').insert(['o1', 'o2', 'o3'].map(org));
});
afterEach(async () => {
  await d.cleanup();
});

/** Runs the batch in a transaction and returns the statements it sent (BEGIN/COMMIT aside). */
async function flush(batch: WriteBatch): Promise<string[]> {
  const sent: string[] = [];
  const listener = (q: { sql: string }) => {
    if (!/^(BEGIN|COMMIT|ROLLBACK)/i.test(q.sql)) sent.push(q.sql);
  };
  d.db.on('query', listener);
  try {
    await inTransaction(d.db, (trx) => batch.flush(trx));
  } finally {
    d.db.off('query', listener);
  }
  return sent;
}

describe('WriteBatch', () => {
  it('writes rows in the order added, a row may refer to one an earlier step inserted, and on PostgreSQL it is one statement', async () => {
    const b = new WriteBatch()
      .insert('users', [user('u1')])
      .insert('audit_events', [audit('a1', 'first'), audit('a2', 'second')])
      .insert('memberships', [membership('o1', 'u1'), membership('o2', 'u1')])
      .insert('audit_events', [audit('a3', 'third')])
      .insert('events', [{ id: 'e1', type: 'membership.added', at, organization_id: 'o1', user_id: 'u1', data: '{}' }]);
    const sent = await flush(b);
    if (dialectOf(d.db) === 'pg') expect(sent).toHaveLength(1);
    expect(b.empty).toBe(true);
    expect(await d.db('audit_events').orderBy('seq').pluck('action')).toEqual(['first', 'second', 'third']);
    expect(await d.db('memberships').where({ user_id: 'u1' }).orderBy('organization_id').pluck('organization_id')).toEqual(['o1', 'o2']);
    expect(await d.db('users').where({ id: 'u1' }).first()).toMatchObject({ email: 'u1@x.example', name: null });
    expect(await d.db('events').count<{ n: number | string }[]>({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(1);
  });

  it('a foreign key that does not hold fails the whole batch and writes nothing', async () => {
    const b = new WriteBatch().insert('audit_events', [audit('a1', 'kept?')]).insert('memberships', [membership('o1', 'nobody')]);
    await expect(flush(b)).rejects.toThrow();
    expect(await d.db('audit_events').count<{ n: number | string }[]>({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(0);
  });

  it('an update sees what earlier steps wrote to its rows (restore then re-role; insert then update)', async () => {
    await d.db('users').insert(user('u1'));
    await d.db('memberships').insert({ ...membership('o1', 'u1'), status: 'flagged', flagged_reason: 'login_lost_grant', flagged_at: at });
    const later = '2026-02-02T00:00:00.000Z';
    const b = new WriteBatch()
      .insert('memberships', [membership('o2', 'u1')])
      .update('memberships', { role: 'admin' }, { user_id: 'u1' }, { column: 'organization_id', values: ['o2'] })
      .update('memberships', { status: 'active', flagged_reason: null, flagged_at: null, last_synced_at: later }, { user_id: 'u1', status: 'flagged' }, { column: 'organization_id', values: ['o1'] })
      .update('memberships', { role: 'owner', last_synced_at: later }, { user_id: 'u1' }, { column: 'organization_id', values: ['o1'] });
    const sent = await flush(b);
    // The re-role of the row just inserted and the re-role of the row just restored each start a new statement.
    if (dialectOf(d.db) === 'pg') expect(sent).toHaveLength(3);
    const rows = await d.db('memberships').where({ user_id: 'u1' }).orderBy('organization_id').select('organization_id', 'role', 'status', 'flagged_reason', 'last_synced_at');
    expect(rows).toEqual([
      { organization_id: 'o1', role: 'owner', status: 'active', flagged_reason: null, last_synced_at: later },
      { organization_id: 'o2', role: 'admin', status: 'active', flagged_reason: null, last_synced_at: at },
    ]);
  });

  it('updates of disjoint rows share a statement; an empty key list writes nothing; a null condition is IS NULL', async () => {
    await d.db('users').insert([user('u1'), user('u2')]);
    await d.db('memberships').insert([membership('o1', 'u1'), membership('o2', 'u1'), membership('o3', 'u1')]);
    const later = '2026-02-03T00:00:00.000Z';
    const b = new WriteBatch()
      .update('memberships', { status: 'flagged', flagged_reason: 'login_lost_grant', flagged_at: later }, { user_id: 'u1', status: 'active' }, { column: 'organization_id', values: ['o1'] })
      .update('memberships', { last_synced_at: later }, { user_id: 'u1' }, { column: 'organization_id', values: ['o2'] })
      .update('memberships', { role: 'owner' }, { user_id: 'u1' }, { column: 'organization_id', values: [] })
      .update('users', { name: 'named' }, { name: null, id: 'u2' });
    const sent = await flush(b);
    if (dialectOf(d.db) === 'pg') expect(sent).toHaveLength(1);
    const rows = await d.db('memberships').where({ user_id: 'u1' }).orderBy('organization_id').select('organization_id', 'role', 'status', 'last_synced_at');
    expect(rows).toEqual([
      { organization_id: 'o1', role: 'member', status: 'flagged', last_synced_at: at },
      { organization_id: 'o2', role: 'member', status: 'active', last_synced_at: later },
      { organization_id: 'o3', role: 'member', status: 'active', last_synced_at: at },
    ]);
    expect(await d.db('users').orderBy('id').pluck('name')).toEqual([null, 'named']);
  });

  it('refuses rows whose columns differ', () => {
    expect(() => new WriteBatch().insert('users', [user('u1'), { ...user('u2'), extra: 'x' }])).toThrow(/differ/);
  });
});
