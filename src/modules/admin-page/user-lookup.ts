import type { Container } from '../../container.js';
import type { User } from '../users/queries.js';
import type { AdminPrincipal } from './principal.js';

/**
 * The account an admin means by an email. An API key is the instance operator and looks up any
 * account. An owner or admin signed in through SSO resolves only members of the organizations they
 * administer: for them an account in another customer's organization and no account at all must be
 * indistinguishable, or the form becomes an oracle for who uses the instance.
 */
export async function userByEmail(c: Container, p: AdminPrincipal, email: string): Promise<User | undefined> {
  if (!email) return undefined;
  if (p.kind === 'sso') return c.users.findMemberByEmail(email, [...p.organizationIds]);
  return (await c.users.list({ email, take: 1 })).items[0];
}

/** The one "not here" message, worded for who is asking; it never depends on what exists elsewhere. */
export const noUserWithEmail = (p: AdminPrincipal, email: string): string =>
  p.kind === 'sso' ? `No member of your organizations has the email "${email}".` : `No user with email "${email}".`;
