import session from 'express-session';
import type { RequestHandler } from 'express';
import type { Container } from '../container.js';
import { DbSessionStore } from './session-store.js';

export const SESSION_COOKIE = 'orgsync.sid';

const perContainer = new WeakMap<Container, RequestHandler>();

/**
 * Session cookies: HttpOnly, SameSite=Lax, Secure when PUBLIC_URL is https. Built once per
 * container and shared by the SSO routes, /api/v1/me, /account and /admin.
 */
export function sessionMiddleware(c: Container): RequestHandler {
  const existing = perContainer.get(c);
  if (existing) return existing;
  const secure = c.config.publicUrl.startsWith('https://');
  const middleware = session({
    name: SESSION_COOKIE,
    secret: c.secretBox.derive('session').toString('hex'),
    store: new DbSessionStore(c.db, c.clock),
    resave: false,
    saveUninitialized: false,
    rolling: false,
    proxy: secure,
    cookie: { httpOnly: true, sameSite: 'lax', secure, maxAge: 8 * 60 * 60 * 1000, path: '/' },
  });
  perContainer.set(c, middleware);
  return middleware;
}
