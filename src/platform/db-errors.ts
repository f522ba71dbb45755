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

/**
 * Serialization failures and deadlocks on PostgreSQL, busy or locked on SQLite (with its extended
 * codes, such as SQLITE_BUSY_SNAPSHOT): the transaction was rolled back and may run again.
 */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === '40001' || code === '40P01' || /^SQLITE_(BUSY|LOCKED)(_|$)/.test(code));
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

/**
 * PostgreSQL: a write sent in one message on an expectation (`orgsync_expect`, migration 304) found
 * it no longer held; nothing was written. The caller runs the write again without the expectation.
 */
export function isExpectationFailed(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'OSG01';
}
