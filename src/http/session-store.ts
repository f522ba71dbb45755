import session, { type SessionData } from 'express-session';
import type { Db } from '../platform/db.js';
import { parseJson } from '../platform/db.js';
import type { Clock } from '../platform/clock.js';
import { sha256 } from '../platform/crypto.js';

declare module 'express-session' {
  interface SessionData {
    /** The signed-in SSO user. */
    userId?: string;
    connectionId?: string;
    /** The admin page's API key id (the key itself is never stored). */
    adminApiKeyId?: string;
    csrfToken?: string;
  }
}

const DEFAULT_TTL_MS = 8 * 60 * 60 * 1000;

interface SessionRow {
  id_hash: string;
  user_id: string | null;
  data: string;
  expires_at: string;
}

/**
 * express-session store on the `sessions` table, so several instances share sessions. Rows are keyed
 * by the hash of the session id: reading the table never yields a usable cookie.
 */
export class DbSessionStore extends session.Store {
  private lastPrune = 0;

  constructor(private readonly db: Db, private readonly clock: Clock) {
    super();
  }

  override get(sid: string, cb: (err: unknown, session?: SessionData | null) => void): void {
    this.db<SessionRow>('sessions')
      .where({ id_hash: sha256(sid) })
      .first()
      .then((row) => {
        if (!row || row.expires_at <= this.clock.now().toISOString()) return cb(null, null);
        cb(null, parseJson<SessionData>(row.data, {} as SessionData));
      }, cb);
  }

  override set(sid: string, sess: SessionData, cb?: (err?: unknown) => void): void {
    const now = this.clock.now();
    const row = {
      id_hash: sha256(sid),
      user_id: sess.userId ?? null,
      data: JSON.stringify(sess),
      expires_at: this.expiry(sess, now),
      created_at: now.toISOString(),
    };
    this.db('sessions')
      .insert(row)
      .onConflict('id_hash')
      .merge(['user_id', 'data', 'expires_at'])
      .then(() => this.prune(now))
      .then(() => cb?.(), (err: unknown) => cb?.(err));
  }

  override touch(sid: string, sess: SessionData, cb?: (err?: unknown) => void): void {
    this.db('sessions')
      .where({ id_hash: sha256(sid) })
      .update({ expires_at: this.expiry(sess, this.clock.now()) })
      .then(() => cb?.(), (err: unknown) => cb?.(err));
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.db('sessions')
      .where({ id_hash: sha256(sid) })
      .delete()
      .then(() => cb?.(), (err: unknown) => cb?.(err));
  }

  private expiry(sess: SessionData, now: Date): string {
    const expires = sess.cookie?.expires ? new Date(sess.cookie.expires) : new Date(now.getTime() + DEFAULT_TTL_MS);
    return expires.toISOString();
  }

  private async prune(now: Date): Promise<void> {
    if (now.getTime() - this.lastPrune < 60_000) return;
    this.lastPrune = now.getTime();
    await this.db('sessions').where('expires_at', '<=', now.toISOString()).delete();
  }
}

