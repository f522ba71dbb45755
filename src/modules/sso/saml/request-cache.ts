import type { CacheItem, CacheProvider } from '@node-saml/passport-saml';
import type { Db } from '../../../platform/db.js';
import type { Clock } from '../../../platform/clock.js';
import { isUniqueViolation } from '../../../platform/db-errors.js';
import { PRE_LOGIN_TTL_MS } from '../pre-login-cookie.js';
import { ssoFailure } from '../errors.js';
import type { RequestIds } from './request-ids.js';

export const REQUEST_TTL_MS = PRE_LOGIN_TTL_MS;

/**
 * node-saml's InResponseTo cache, answered from the id itself: an id is known when its MAC holds
 * for this connection and it is young enough. Nothing is written when a request is issued, and
 * nothing when node-saml "removes" an id after a failed validation (anyone can post a response
 * naming someone else's id); consumeRequestId records the one use once the response is proven.
 */
export class StatelessRequestCache implements CacheProvider {
  constructor(private readonly ids: RequestIds, private readonly clock: Clock, private readonly connectionId: string) {}

  async saveAsync(_key: string, value: string): Promise<CacheItem | null> {
    return { value, createdAt: this.clock.now().getTime() };
  }

  async getAsync(key: string): Promise<string | null> {
    const known = this.ids.verify(this.connectionId, key, this.clock.now().getTime());
    return known ? new Date(known.issuedAtMs).toISOString() : null;
  }

  async removeAsync(key: string | null): Promise<string | null> {
    return key;
  }
}

/**
 * One validly signed response per AuthnRequest id: the id goes into `saml_requests` (now the
 * table of answered request ids) until it could no longer validate; a second response for it is
 * a replay. Rows come only from responses the IdP signed, never from anonymous requests.
 */
export async function consumeRequestId(db: Db, connectionId: string, requestId: string, issuedAtMs: number, now: Date): Promise<void> {
  await db('saml_requests').where('expires_at', '<=', now.toISOString()).delete();
  try {
    await db('saml_requests').insert({
      id: requestId,
      connection_id: connectionId,
      created_at: now.toISOString(),
      expires_at: new Date(issuedAtMs + REQUEST_TTL_MS + 60_000).toISOString(),
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw ssoFailure('replay');
    throw err;
  }
}
