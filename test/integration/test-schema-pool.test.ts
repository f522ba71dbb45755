import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { TEST_DATABASE_URL } from '../helpers/db.js';

/**
 * The PostgreSQL schemas test apps reuse (test/helpers/db.ts): the next app must find the database
 * as a freshly migrated one would be, and a schema a test changed must never be handed out again.
 */
describe.skipIf(!TEST_DATABASE_URL)('test apps on PostgreSQL reuse emptied schemas', () => {
  const open: TestApp[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
  });
  const start = async () => {
    const t = await startTestApp();
    open.push(t);
    return t;
  };
  const counts = async (t: TestApp) => {
    const tables = await t.container.db.raw(
      `SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' ORDER BY relname`,
    );
    const out: Record<string, number> = {};
    for (const { relname } of tables.rows as { relname: string }[]) {
      out[relname] = Number((await t.container.db.raw('SELECT count(*) AS n FROM ??', [relname])).rows[0].n);
    }
    return out;
  };
  const firstAuditSeq = async (t: TestApp) => Number((await t.container.db('audit_events').min({ s: 'seq' }))[0]!.s);

  it('hands the next app the schema emptied, with its sequences started again', async () => {
    const first = await start();
    const fresh = await counts(first);
    const seq = await firstAuditSeq(first);
    for (const name of ['a', 'b', 'c']) expect((await first.api('POST', '/api/v1/organizations', { body: { name } })).status).toBe(201);
    expect((await counts(first)).organizations).toBe(3);
    const schema = first.database.schema;
    await first.close();
    open.splice(0);

    const second = await start();
    expect(second.database.schema).toBe(schema);
    expect(await counts(second)).toEqual(fresh);
    expect(await firstAuditSeq(second)).toBe(seq);
    expect((await second.api('GET', '/api/v1/organizations')).body.organizations).toEqual([]);
  });

  it('drops a schema whose tables a test changed instead of handing it out', async () => {
    const first = await start();
    const schema = first.database.schema!;
    await first.container.db.schema.alterTable('organizations', (tb) => tb.text('extra'));
    await first.close();
    open.splice(0);

    const second = await start();
    expect(second.database.schema).not.toBe(schema);
    const left = await second.container.db.raw('SELECT count(*) AS n FROM pg_namespace WHERE nspname = ?', [schema]);
    expect(Number(left.rows[0].n)).toBe(0);
  });
});
