import { createHmac } from 'node:crypto';
import type { Request } from 'express';
import { constantTimeEqual, type SecretBox } from '../../platform/crypto.js';
import { AppError } from '../../platform/errors.js';

export const SETUP_COOKIE = 'orgsync_setup';
export const CSRF_FIELD = '_csrf';

/**
 * The link's token is exchanged once for a cookie naming the link, signed with a key derived from
 * ORGSYNC_SECRET, so the token leaves the address bar (history, screenshots) after the first visit.
 */
export class LinkSession {
  private readonly cookieKey: Buffer;
  private readonly csrfKey: Buffer;
  constructor(box: SecretBox) {
    this.cookieKey = box.derive('setup-link-cookie/v1');
    this.csrfKey = box.derive('setup-link-csrf/v1');
  }

  private mac(key: Buffer, value: string): string {
    return createHmac('sha256', key).update(value).digest('base64url');
  }

  cookieFor(linkId: string): string {
    return `${linkId}.${this.mac(this.cookieKey, linkId)}`;
  }

  /** The link id of a validly signed cookie, else undefined. */
  linkIdOf(req: Request): string | undefined {
    const raw = cookieValue(req.headers.cookie, SETUP_COOKIE);
    if (!raw) return undefined;
    const dot = raw.lastIndexOf('.');
    const id = raw.slice(0, dot);
    if (dot <= 0 || !constantTimeEqual(raw.slice(dot + 1), this.mac(this.cookieKey, id))) return undefined;
    return id;
  }

  csrfToken(linkId: string): string {
    return this.mac(this.csrfKey, linkId);
  }

  /** Every change needs the link's CSRF token and, when the browser sends one, our own Origin. */
  assertCsrf(req: Request, linkId: string, publicOrigin: string): void {
    const forbidden = new AppError('csrf_failed', 403, 'This form was not sent from this setup page, or it has expired. Reload the page and try again.');
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== publicOrigin) throw forbidden;
    const body = req.body as Record<string, unknown> | undefined;
    const sent = typeof body?.[CSRF_FIELD] === 'string' ? body[CSRF_FIELD] : req.headers['x-csrf-token'];
    if (typeof sent !== 'string' || !constantTimeEqual(sent, this.csrfToken(linkId))) throw forbidden;
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}
