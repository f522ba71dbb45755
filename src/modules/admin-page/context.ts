import type { Request, Response } from 'express';
import { csrfToken } from './csrf.js';
import type { ViewContext } from './layout.js';
import { principalOf } from './principal.js';
import { takeNotice } from './notice.js';

/** The pending message: the session's, or for a visitor without one, the notice cookie's. */
export function takeFlash(req: Request, res: Response): ViewContext['flash'] {
  const flash = req.session.adminFlash;
  if (flash) {
    delete req.session.adminFlash;
    return flash;
  }
  return takeNotice(req, res);
}

/** What every signed-in page needs: who is signed in, the form token, and the pending message. */
export function viewContext(req: Request, res: Response, section?: ViewContext['section']): ViewContext {
  return { principal: principalOf(res), csrf: csrfToken(req, res), flash: takeFlash(req, res), section };
}

/**
 * Post/redirect/get with a message for the next page. The session is saved before the redirect goes
 * out: express-session sends a response's headers while its own save is still running, and a browser
 * follows the Location at once, so the next page could read the session without the message.
 */
export async function redirectWith(req: Request, res: Response, to: string, flash: NonNullable<ViewContext['flash']>): Promise<void> {
  req.session.adminFlash = flash;
  await new Promise<void>((resolve, reject) => req.session.save((err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve())));
  res.redirect(303, to);
}

export const queryString = (req: Request, name: string): string | undefined => {
  const v = (req.query as Record<string, unknown>)[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 500 ? v : undefined;
};
