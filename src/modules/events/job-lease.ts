import type { Executor } from '../../platform/db.js';

/**
 * Takes the named lease in `job_locks` when it is free or expired. Works the same on SQLite and
 * PostgreSQL: the conditional upsert returns a row only to the instance that got the lease.
 */
export async function tryAcquireLease(db: Executor, name: string, owner: string, now: Date, ttlMs: number): Promise<boolean> {
  const nowIso = now.toISOString();
  const until = new Date(now.getTime() + ttlMs).toISOString();
  const result = await db.raw<unknown>(
    `INSERT INTO job_locks (name, owner, locked_until) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, locked_until = excluded.locked_until
     WHERE job_locks.locked_until < ?
     RETURNING owner`,
    [name, owner, until, nowIso],
  );
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ owner: string }>;
  return rows[0]?.owner === owner;
}

/** Ends our lease at once, so the next holder (here or on another instance) need not wait for it to expire. */
export async function releaseNamedLease(db: Executor, name: string, owner: string): Promise<void> {
  await db('job_locks').where({ name, owner }).update({ locked_until: new Date(0).toISOString() });
}
