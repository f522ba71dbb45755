import type { Container } from '../../container.js';
import { actorOf } from '../../http/api-auth.js';
import type { ApiRouter } from '../../http/api-router.js';
import { cursorOf, listOf, pageQuery } from '../../http/pagination.js';
import { invalidBody } from '../../platform/errors.js';
import { createDirectoryBody, createdDirectorySchema, directorySchema, directoryWithTokenSchema, rotateTokenBody } from './schema.js';
import { pullDirectoryRoutes } from '../pull-directories/routes.js';

const tag = 'Directories';

export function directoryRoutes(c: Container, api: ApiRouter): void {
  api.post(
    '/directories',
    {
      tag,
      summary: "Create a connection's directory: SCIM (the token is returned once), or pulled from Google Workspace or Microsoft Graph",
      scopes: ['create:directories'],
      body: createDirectoryBody,
      status: 201,
      response: createdDirectorySchema,
    },
    async (_req, res, { body }) => {
      const { kind, sync_interval_seconds, microsoft_graph, google_workspace, ...base } = body;
      if (kind === undefined || kind === 'scim') {
        if (sync_interval_seconds !== undefined || microsoft_graph || google_workspace) throw invalidBody('Invalid request body: pull settings need kind google_workspace or microsoft_graph.');
        res.status(201).json(await c.directories.create(base, actorOf(res)));
        return;
      }
      const id = await c.pullDirectories.create({ ...base, kind, sync_interval_seconds, microsoft_graph, google_workspace }, actorOf(res));
      res.status(201).json(await c.directories.get(id));
    },
  );
  api.get('/directories', { tag, summary: 'List directories', scopes: ['read:directories'], query: pageQuery, response: listOf('directories', directorySchema) }, async (_req, res, { query }) => {
    const page = await c.directories.list(query.take, cursorOf(query.from, 'id'));
    res.json({ directories: page.items, next: page.next });
  });
  api.get('/directories/:id', { tag, summary: 'Get a directory (pull directories: settings and sync status)', scopes: ['read:directories'], response: directorySchema }, async (_req, res, { params }) => {
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
  pullDirectoryRoutes(c, api);
}
