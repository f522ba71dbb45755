import type { CacheItem, CacheProvider } from '@node-saml/passport-saml';
import type { Db } from '../../../platform/db.js';
import type { Clock } from '../../../platform/clock.js';

export const REQUEST_TTL_MS = 10 * 60 * 1000;

/**
 * AuthnRequest ids this service issued, in `saml_requests`: the ACS POST arrives cross-site
 * without the session cookie, and another instance may receive it. Scoped to one connection, so a
 * request id issued for one IdP never validates another's response.
 */
export class DbRequestCache implements CacheProvider {
  constructor(private readonly db: Db, private readonly clock: Clock, private readonly connectionId: string) {}

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    const now = this.clock.now();
    await this.db('saml_requests').where('expires_at', '<=', now.toISOString()).delete();
    await this.db('saml_requests').insert({
      id: key,
      connection_id: this.connectionId,
      created_at: value,
      expires_at: new Date(now.getTime() + REQUEST_TTL_MS).toISOString(),
    });
    return { value, createdAt: now.getTime() };
  }

  async getAsync(key: string): Promise<string | null> {
    const row = await this.db('saml_requests')
      .where({ id: key, connection_id: this.connectionId })
      .where('expires_at', '>', this.clock.now().toISOString())
      .first<{ created_at: string } | undefined>('created_at');
    return row?.created_at ?? null;
  }

  async removeAsync(key: string | null): Promise<string | null> {
    if (!key) return null;
    await this.db('saml_requests').where({ id: key, connection_id: this.connectionId }).delete();
    return key;
  }
}
