import type { Request, Response } from 'express';
import { readCookie } from '../../http/cookies.js';
import type { ViewContext } from './layout.js';

/**
 * Messages for visitors who are not signed in, carried to the sign-in page in a short cookie
 * rather than a session: an anonymous request never creates a session row. Only a code travels;
 * the text is ours.
 */
const NOTICE_COOKIE = 'orgsync.notice';
const NOTICES = {
  sign_in_required: 'Sign in to continue.',
  no_sso_connection: 'No SSO connection has verified the domain of that email. Sign in with an API key instead.',
} as const;
export type NoticeCode = keyof typeof NOTICES;

const isCode = (v: string | undefined): v is NoticeCode => !!v && Object.hasOwn(NOTICES, v);

export function setNotice(res: Response, code: NoticeCode, secure: boolean): void {
  res.cookie(NOTICE_COOKIE, code, { httpOnly: true, sameSite: 'lax', secure, path: '/admin', maxAge: 60_000 });
}

export function takeNotice(req: Request, res: Response): ViewContext['flash'] {
  const code = readCookie(req, NOTICE_COOKIE);
  if (code === undefined) return undefined;
  res.clearCookie(NOTICE_COOKIE, { path: '/admin' });
  return isCode(code) ? { kind: 'error', text: NOTICES[code] } : undefined;
}
