import type { Request, Response } from 'express';
import type { Container } from '../../container.js';
import type { Connection } from '../connections/schema.js';
import { LoginService } from './login-service.js';
import type { LoginProfile } from './login-profile.js';
import { safeReturnTo } from './return-target.js';
import { startSession, wantsJson } from './web.js';

export const createLoginService = (c: Container): LoginService => new LoginService(c.db, c.clock, c.ids, c.audit, c.events, c.membershipSync);

/** After a validated login: sync in one transaction, start the session, go to return_to or /account. */
export async function completeLogin(login: LoginService, req: Request, res: Response, connection: Connection, profile: LoginProfile, returnTo: unknown, publicUrl: string): Promise<void> {
  const result = await login.login(connection, profile);
  await startSession(req, { userId: result.userId, connectionId: connection.id });
  // Checked again here, whatever the caller did: nothing but a page of this site is a target.
  const target = safeReturnTo(returnTo, publicUrl) ?? '/account';
  if (wantsJson(req)) {
    res.json({ user_id: result.userId, redirect_to: target, sync_run: result.run });
    return;
  }
  res.redirect(303, target);
}
