import type { Executor } from '../../platform/db.js';

/**
 * Ends every session of a user at once (deactivation, deletion). Pass the change's transaction.
 * The `sessions` table is written by the HTTP session store (src/http/session-store.ts); services
 * that end sessions take this query from here, below http/.
 */
export async function revokeUserSessions(exec: Executor, userId: string): Promise<number> {
  return exec('sessions').where({ user_id: userId }).delete();
}
