import { z } from 'zod';
import type { Container } from '../../container.js';
import type { Response } from 'express';
import { actorOf } from '../../http/api-auth.js';
import type { ApiRouter } from '../../http/api-router.js';
import { cursorOf, listOf, pageQuery } from '../../http/pagination.js';
import { ALL_SCOPES } from '../../http/scopes.js';
import { AppError } from '../../platform/errors.js';
import type { ApiKey, KeyHolder } from './service.js';

const tag = 'API keys';
const createBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  scopes: z.array(z.enum(ALL_SCOPES)).min(1),
});
const apiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.enum(ALL_SCOPES)),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});

/** The key this request came with: it bounds the scopes of keys it creates or revokes. */
function holderOf(res: Response): KeyHolder {
  const key = res.locals.apiKey as ApiKey | undefined;
  if (!key) throw new AppError('invalid_token', 401, 'Missing or malformed bearer token.');
  return { id: key.id, scopes: key.scopes };
}

export function apiKeyRoutes(c: Container, api: ApiRouter): void {
  api.post('/api-keys', { tag, summary: 'Create an API key (the key is returned once)', description: 'Scopes (any of): create:api_keys. The new key\'s scopes must all be held by the calling key (403 insufficient_scope naming the others).', scopes: ['create:api_keys'], body: createBody, response: apiKeySchema.extend({ key: z.string() }) }, async (_req, res, { body }) => {
    res.status(201).json(await c.apiKeys.create(body, actorOf(res), holderOf(res)));
  });
  api.get('/api-keys', { tag, summary: 'List API keys (never the keys themselves)', scopes: ['create:api_keys', 'delete:api_keys'], query: pageQuery, response: listOf('api_keys', apiKeySchema) }, async (_req, res, { query }) => {
    const page = await c.apiKeys.list(query.take, cursorOf(query.from, 'id'));
    res.json({ api_keys: page.items, next: page.next });
  });
  api.delete('/api-keys/:id', { tag, summary: 'Revoke an API key', description: 'Scopes (any of): delete:api_keys. A key revokes itself, or a key whose scopes it all holds (403 insufficient_scope naming the others).', scopes: ['delete:api_keys'], status: 204 }, async (_req, res, { params }) => {
    await c.apiKeys.revoke(params.id!, actorOf(res), holderOf(res));
    res.status(204).end();
  });
}
