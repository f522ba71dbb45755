import { z } from 'zod';
import type { Container } from '../../container.js';
import type { ApiRouter } from '../../http/api-router.js';
import { cursorOf, listOf, pageQuery } from '../../http/pagination.js';

const tag = 'Users';
const listQuery = pageQuery.extend({ email: z.string().max(320).optional() });

export const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  given_name: z.string().nullable(),
  family_name: z.string().nullable(),
  active: z.boolean(),
  created_at: z.string(),
  last_login_at: z.string().nullable(),
});

const userDetailSchema = userSchema.extend({
  identities: z.array(z.object({ connection_id: z.string(), subject: z.string(), created_at: z.string(), last_login_at: z.string().nullable() })),
  memberships: z.array(
    z.object({
      organization_id: z.string(),
      organization_name: z.string(),
      role: z.string(),
      source: z.string(),
      status: z.string(),
      flagged_reason: z.string().nullable(),
      flagged_at: z.string().nullable(),
      flag_evidence: z.unknown(),
      joined_at: z.string(),
    }),
  ),
});

export function userRoutes(c: Container, api: ApiRouter): void {
  const scopes = ['read:organization_members', 'read:organizations'] as const;
  api.get('/users', { tag, summary: 'List users, optionally by email (case-insensitive)', scopes: [...scopes], query: listQuery, response: listOf('users', userSchema) }, async (_req, res, { query }) => {
    const page = await c.users.list({ email: query.email, afterId: cursorOf(query.from, 'id'), take: query.take });
    res.json({ users: page.items, next: page.next });
  });
  api.get('/users/:id', { tag, summary: 'Get a user with identities and memberships', scopes: [...scopes], response: userDetailSchema }, async (_req, res, { params }) => {
    res.json(await c.users.get(params.id!));
  });
}
