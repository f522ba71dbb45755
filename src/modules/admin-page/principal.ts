import type { Response } from 'express';
import type { Actor } from '../audit/types.js';
import type { Scope } from '../../http/scopes.js';
import { AppError } from '../../platform/errors.js';

declare module 'express-session' {
  interface SessionData {
    /** One message shown on the next admin page (post/redirect/get). */
    adminFlash?: { kind: 'ok' | 'error'; text: string };
  }
}

/**
 * Who is using the admin page: an API key (its scopes decide what is shown) or an organization
 * owner/admin signed in through SSO (limited to the organizations they administer).
 */
export type AdminPrincipal =
  | { kind: 'api_key'; apiKeyId: string; label: string; scopes: ReadonlySet<Scope> }
  | { kind: 'sso'; userId: string; label: string; organizationIds: ReadonlySet<string> };

/** What an SSO-signed-in owner/admin may do, always within their own organizations. */
const SSO_SCOPES: ReadonlySet<Scope> = new Set<Scope>([
  'read:organizations',
  'read:organization_members',
  'create:organization_members',
  'delete:organization_members',
  'read:reports',
  'read:audit_logs',
]);

export const can = (p: AdminPrincipal, scope: Scope): boolean => (p.kind === 'api_key' ? p.scopes.has(scope) : SSO_SCOPES.has(scope));

export function requireCan(p: AdminPrincipal, scope: Scope): void {
  if (!can(p, scope)) throw new AppError('insufficient_scope', 403, `Your sign-in does not allow this page (it needs ${scope}).`);
}

/** Whether the principal may see an organization at all (API keys see every organization). */
export const seesOrganization = (p: AdminPrincipal, organizationId: string): boolean =>
  p.kind === 'api_key' || p.organizationIds.has(organizationId);

export function requireOrganization(p: AdminPrincipal, organizationId: string): void {
  // 404, not 403: an SSO admin does not learn which other organizations exist.
  if (!seesOrganization(p, organizationId)) throw new AppError('not_found', 404, 'Organization not found.');
}

/** Changes made from the page are audited as the admin page acting for this key or user. */
export const actorOf = (p: AdminPrincipal): Actor => ({ type: 'admin_page', id: p.kind === 'api_key' ? p.apiKeyId : p.userId });

export function principalOf(res: Response): AdminPrincipal {
  const p = res.locals.adminPrincipal as AdminPrincipal | undefined;
  if (!p) throw new AppError('unauthenticated', 401, 'Sign in first.');
  return p;
}
