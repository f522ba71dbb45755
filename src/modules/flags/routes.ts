import type { Container } from '../../container.js';
import { actorOf } from '../../http/api-auth.js';
import type { ApiRouter } from '../../http/api-router.js';
import { syncRunSchema } from '../reports/schema.js';

export function reconcileRoutes(c: Container, api: ApiRouter): void {
  api.post(
    '/directories/:id/reconcile',
    {
      tag: 'Directories',
      summary: 'Flag members of governed organizations who have no user in the directory (not_in_directory)',
      scopes: ['update:directories'],
      status: 200,
      response: syncRunSchema,
    },
    async (_req, res, { params }) => {
      res.json(await c.reconcile.reconcile(params.id!, actorOf(res)));
    },
  );
}
