import type { Container } from '../../container.js';
import { actorOf } from '../../http/api-auth.js';
import type { ApiRouter } from '../../http/api-router.js';
import { cursorOf, listOf, pageQuery } from '../../http/pagination.js';
import { createDirectoryBody, directorySchema, directoryWithTokenSchema, rotateTokenBody } from './schema.js';

const tag = 'Directories';

export function directoryRoutes(c: Container, api: ApiRouter): void {
  api.post(
    '/directories',
    { tag, summary: "Create a connection's SCIM directory; the token is returned once", scopes: ['create:directories'], body: createDirectoryBody, status: 201, response: directoryWithTokenSchema },
    async (_req, res, { body }) => {
      res.status(201).json(await c.directories.create(body, actorOf(res)));
    },
  );
  api.get('/directories', { tag, summary: 'List SCIM directories', scopes: ['read:directories'], query: pageQuery, response: listOf('directories', directorySchema) }, async (_req, res, { query }) => {
    const page = await c.directories.list(query.take, cursorOf(query.from, 'id'));
    res.json({ directories: page.items, next: page.next });
  });
  api.get('/directories/:id', { tag, summary: 'Get a SCIM directory', scopes: ['read:directories'], response: directorySchema }, async (_req, res, { params }) => {
    res.json(await c.directories.get(params.id!));
  });
  api.post(
    '/directories/:id/tokens',
    {
      tag,
      summary: 'Rotate the directory token; the previous ones keep working for grace_seconds (default 0)',
      scopes: ['update:directories'],
      body: rotateTokenBody,
      status: 201,
      response: directoryWithTokenSchema,
    },
    async (_req, res, { body, params }) => {
      res.status(201).json(await c.directories.rotate(params.id!, body.grace_seconds ?? 0, actorOf(res)));
    },
  );
}
