import { z } from 'zod';
import type { Container } from '../../container.js';
import { actorOf } from '../../http/api-auth.js';
import type { ApiRouter } from '../../http/api-router.js';
import { cursorOf, listOf, pageQuery, toPage } from '../../http/pagination.js';
import { directorySchema } from '../directories/schema.js';
import { pullPatchBody } from './settings.js';

const tag = 'Directories';

const runSchema = z.object({
  id: z.string(),
  trigger: z.string(),
  status: z.string(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  requests: z.number().int(),
  counts: z.record(z.string(), z.number()),
  error: z.string().nullable(),
});

/** Pull-directory settings, "sync now" and the runs; mounted beside the directory routes. */
export function pullDirectoryRoutes(c: Container, api: ApiRouter): void {
  api.patch(
    '/directories/:id',
    { tag, summary: 'Change a directory: name, sync interval, pull settings; a new client secret or service-account key replaces the stored one', scopes: ['update:directories'], body: pullPatchBody, response: directorySchema },
    async (_req, res, { body, params }) => {
      await c.pullDirectories.update(params.id!, body, actorOf(res));
      res.json(await c.directories.get(params.id!));
    },
  );
  api.post(
    '/directories/:id/sync',
    { tag, summary: 'Start a sync of a Google Workspace or Microsoft Graph directory now; 409 while one runs', scopes: ['update:directories'], status: 202, response: z.object({ run_id: z.string(), directory: directorySchema }) },
    async (_req, res, { params }) => {
      const started = await c.pullDirectories.syncNow(params.id!, false);
      res.status(202).json({ run_id: started.run_id, directory: await c.directories.get(params.id!) });
    },
  );
  api.get(
    '/directories/:id/sync-runs',
    { tag, summary: 'Runs of a pull directory, newest first', scopes: ['read:directories'], query: pageQuery, response: listOf('sync_runs', runSchema) },
    async (_req, res, { params, query }) => {
      const before = cursorOf(query.from, 'started_at');
      const page = toPage(await c.pullDirectories.runs(params.id!, query.take + 1, before), query.take, (r) => ({ started_at: r.started_at }));
      res.json({ sync_runs: page.items, next: page.next });
    },
  );
}
