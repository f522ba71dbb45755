/** Maps driver errors to what they mean, on both databases. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string } | null;
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** Serialization failures and deadlocks on PostgreSQL, busy/locked on SQLite: safe to retry. */
export function isRetryable(err: unknown): boolean {
  const e = err as { code?: string } | null;
  return e?.code === '40001' || e?.code === '40P01' || e?.code === 'SQLITE_BUSY' || e?.code === 'SQLITE_LOCKED';
}

/** Connection-level failures: the database is unreachable. */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string } | null;
  if (!e) return false;
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', '57P01', '57P03', '08006', '08001', '08003'].includes(e.code ?? '') ||
    e.name === 'KnexTimeoutError' ||
    /Connection terminated|Timeout acquiring a connection/i.test(e.message ?? '')
  );
}
