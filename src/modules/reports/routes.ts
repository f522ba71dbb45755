import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import type { ApiRouter } from '../../http/api-router.js';
import type { ApiKey } from '../api-keys/service.js';
import { cursorOf, listOf, pageQuery } from '../../http/pagination.js';
import { syncRunSchema } from './schema.js';
import { csvChunks } from './csv.js';

const reportQuery = z.object({
  format: z.enum(['json', 'csv']).optional(),
  // CSV rows: the flagged members by default (what the report is for), or every member.
  status: z.enum(['flagged', 'active', 'all']).default('flagged'),
});

const tag = 'Sync reports';
const syncRunsQuery = pageQuery.extend({ organization: z.string().max(100).optional(), user: z.string().max(36).optional() });

const wantsCsv = (req: Request, format: 'json' | 'csv' | undefined): boolean =>
  format ? format === 'csv' : req.accepts(['application/json', 'text/csv']) === 'text/csv';

async function streamCsv(res: Response, filename: string, chunks: AsyncGenerator<string>): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
  res.setHeader('Cache-Control', 'no-store');
  try {
    await pipeline(Readable.from(chunks), res);
  } catch (err) {
    // A client that hangs up mid-download is not a server error; anything else is.
    if ((err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
  }
}

export function reportRoutes(c: Container, api: ApiRouter): void {
  const csvNote =
    'JSON by default; `?format=csv` or `Accept: text/csv` streams CSV (organization,user_id,email,name,role,status,reason,flagged_at,evidence) of the flagged members, or of every member with `?status=all`.';
  api.get(
    '/organizations/:org/sync-report',
    { tag, summary: "An organization's sync report", description: csvNote, scopes: ['read:reports'], query: reportQuery, response: 'csv' },
    async (req, res, { params, query }) => {
      if (!wantsCsv(req, query.format)) {
        const key = res.locals.apiKey as ApiKey | undefined;
        res.json(await c.reports.organizationReport(params.org!, { connectionWarnings: key?.scopes.includes('read:connections') ?? false }));
        return;
      }
      const org = await c.reports.resolveOrganization(params.org!);
      await streamCsv(res, `sync-report-${org.name}.csv`, csvChunks(c.reports, [org], query.status));
    },
  );

  api.get(
    '/sync-report',
    { tag, summary: 'The sync report across all organizations', description: csvNote, scopes: ['read:reports'], query: reportQuery, response: 'csv' },
    async (req, res, { query }) => {
      if (!wantsCsv(req, query.format)) {
        res.json(await c.reports.globalReport());
        return;
      }
      await streamCsv(res, 'sync-report.csv', csvChunks(c.reports, c.reports.organizations(), query.status));
    },
  );

  api.get(
    '/sync-runs',
    { tag, summary: 'Sync runs, newest first', scopes: ['read:reports'], query: syncRunsQuery, response: listOf('sync_runs', syncRunSchema) },
    async (_req, res, { query }) => {
      const page = await c.reports.syncRuns({ organization: query.organization, user: query.user, before: cursorOf(query.from, 'id'), take: query.take });
      res.json({ sync_runs: page.items, next: page.next });
    },
  );
}
