import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Sealer } from '../../platform/sealed.js';
import { readCookie } from '../../http/cookies.js';

/** How long a started sign-in may take at the IdP (the AuthnRequest id and OIDC state live as long). */
export const PRE_LOGIN_TTL_MS = 10 * 60 * 1000;
/** Sign-ins one browser may have in progress with one connection (two tabs, a double click). */
const MAX_ENTRIES = 3;
// Sealed and base64url-encoded this stays well under the 4 KiB browsers keep per cookie.
const MAX_PLAIN_CHARS = 2400;

/**
 * The sign-ins a browser started with one connection, newest first, in a sealed, HttpOnly,
 * SameSite=Lax cookie scoped to that connection's SSO path: no database row for an anonymous
 * visitor, and only the browser that started a sign-in can finish it. Lax cookies come along on
 * the top-level GET navigations that end a sign-in (OIDC callback, SAML continuation), never on
 * the cross-site POST to the ACS.
 */
export class PreLoginCookie<T extends { e: number }> {
  private readonly name: string;
  private readonly path: string;
  private readonly list: z.ZodType<T[]>;

  constructor(
    protocol: 'saml' | 'oidc',
    private readonly connectionId: string,
    private readonly sealer: Sealer,
    entry: z.ZodType<T>,
    private readonly secure: boolean,
  ) {
    this.name = `orgsync.${protocol}.${connectionId}`;
    this.path = `/sso/${protocol}/${connectionId}/`;
    this.list = z.array(entry).max(MAX_ENTRIES);
  }

  /** Entries not yet expired; nothing when the cookie is missing, forged, for another connection or stale. */
  read(req: Request, nowMs: number): T[] {
    const raw = readCookie(req, this.name);
    if (!raw) return [];
    const parsed = this.list.safeParse(this.sealer.open(raw, this.connectionId, nowMs));
    return parsed.success ? parsed.data.filter((e) => e.e > nowMs) : [];
  }

  /** Writes the entries (newest first), dropping the oldest that do not fit; clears the cookie when none are left. */
  write(res: Response, entries: T[], nowMs: number): void {
    const kept: T[] = [];
    for (const e of entries) {
      if (e.e <= nowMs || kept.length === MAX_ENTRIES) continue;
      if (kept.length > 0 && JSON.stringify([...kept, e]).length > MAX_PLAIN_CHARS) break;
      kept.push(e);
    }
    const options = { httpOnly: true, sameSite: 'lax' as const, secure: this.secure, path: this.path };
    if (kept.length === 0) {
      res.clearCookie(this.name, options);
      return;
    }
    const expires = Math.max(...kept.map((e) => e.e));
    res.cookie(this.name, this.sealer.seal(kept, this.connectionId, expires), { ...options, maxAge: expires - nowMs });
  }
}
