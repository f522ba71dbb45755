import type { Db } from '../../platform/db.js';
import { notFound } from '../../platform/errors.js';
import { toPage, type Page } from '../../platform/paging.js';
import * as q from './queries.js';

export type UserDetail = q.User & { identities: q.IdentityView[]; memberships: q.MembershipView[] };

export class UserService {
  constructor(private readonly db: Db) {}

  async list(f: { email?: string; afterId?: string; take: number }): Promise<Page<q.User>> {
    const page = toPage(await q.listUsers(this.db, { ...f, take: f.take + 1 }), f.take, (r) => ({ id: r.id }));
    return { items: page.items.map(q.toUser), next: page.next };
  }

  /** A member of one of `organizationIds` with this email (see findUserByEmailAmongMembers). */
  async findMemberByEmail(email: string, organizationIds: readonly string[]): Promise<q.User | undefined> {
    const row = await q.findUserByEmailAmongMembers(this.db, email, organizationIds);
    return row ? q.toUser(row) : undefined;
  }

  async get(id: string): Promise<UserDetail> {
    const row = await q.findUserById(this.db, id);
    if (!row) throw notFound('User');
    const [identities, memberships] = await Promise.all([q.identitiesOf(this.db, id), q.membershipsOf(this.db, id)]);
    return { ...q.toUser(row), identities, memberships };
  }
}
