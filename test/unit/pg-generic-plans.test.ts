import { describe, expect, it } from 'vitest';
import { useGenericPlans, type NewPgConnection } from '../../src/platform/db.js';

/** A new pg connection whose SET answers with `err`; records what was sent. */
const connection = (err: (Error & { code?: string }) | null) => {
  const sent: string[] = [];
  const c: NewPgConnection = { query: (sql, cb) => (sent.push(sql), cb(err)) };
  return { c, sent };
};
const run = (c: NewPgConnection) =>
  new Promise<{ err: Error | null; conn: unknown }>((resolve) => useGenericPlans(c, (err, conn) => resolve({ err, conn })));

describe('new PostgreSQL pool connections', () => {
  it('are set to plan named statements generically', async () => {
    const { c, sent } = connection(null);
    expect(await run(c)).toEqual({ err: null, conn: c });
    expect(sent).toEqual(['SET plan_cache_mode = force_generic_plan']);
  });

  it('keep the default on a server without the setting (PostgreSQL before 12), and fail on any other error', async () => {
    const unknown = Object.assign(new Error('unrecognized configuration parameter "plan_cache_mode"'), { code: '42704' });
    expect((await run(connection(unknown).c)).err).toBeNull();
    const down = Object.assign(new Error('terminating connection'), { code: '57P01' });
    expect((await run(connection(down).c)).err).toBe(down);
  });
});
