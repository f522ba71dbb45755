import { z } from 'zod';
import type { Response } from 'express';
import type { Container } from '../../container.js';
import { actorOf } from '../../http/api-auth.js';
import type { ApiRouter } from '../../http/api-router.js';
import type { Scope } from '../../http/scopes.js';
import { cursorOf, listOf, pageQuery } from '../../http/pagination.js';
import { insufficientScope, type ApiKey } from '../api-keys/service.js';
import { createSetupLinkBody, setupLinkSchema, type Intent } from './schema.js';
import { domainInput } from './domain-input.js';
import { addVerifiedDomain } from './connection-writes.js';
import { notFound } from '../../platform/errors.js';

const tag = 'Setup links';

/** What a link lets its holder do must not exceed what the key that issued it may do. */
const SCOPES_FOR: Record<Intent, Scope> = { sso: 'create:connections', directory: 'create:directories' };

function assertMayIssue(res: Response, intents: Intent[]): void {
  const key = res.locals.apiKey as ApiKey | undefined;
  const needed = [...new Set(intents.map((i) => SCOPES_FOR[i]))];
  const missing = needed.filter((s) => !key?.scopes.includes(s));
  if (missing.length) throw insufficientScope(missing);
}

const challengeSchema = z.object({
  domain: z.string(),
  status: z.enum(['pending', 'verified']),
  record_type: z.literal('TXT'),
  record_name: z.string(),
  record_value: z.string(),
  last_checked_at: z.string().nullable(),
  verified_at: z.string().nullable(),
});
const checkSchema = challengeSchema.extend({ result: z.enum(['verified', 'not_found', 'lookup_failed', 'already_verified']), seen: z.array(z.string()).optional() });

export function setupLinkRoutes(c: Container, api: ApiRouter): void {
  api.post(
    '/organizations/:org/setup-links',
    { tag, summary: 'Create a setup link (the URL is returned once)', scopes: ['create:connections', 'create:directories'], body: createSetupLinkBody, status: 201, response: setupLinkSchema.extend({ url: z.string() }) },
    async (_req, res, { body, params }) => {
      assertMayIssue(res, body.intents);
      res.status(201).json(await c.setupLinks.create(params.org!, body, actorOf(res)));
    },
  );
  api.get(
    '/organizations/:org/setup-links',
    { tag, summary: 'List the setup links of an organization', scopes: ['read:connections', 'read:directories'], query: pageQuery, response: listOf('setup_links', setupLinkSchema) },
    async (_req, res, { params, query }) => {
      const page = await c.setupLinks.list(params.org!, query.take, cursorOf(query.from, 'id'));
      res.json({ setup_links: page.items, next: page.next });
    },
  );
  api.get('/organizations/:org/setup-links/:id', { tag, summary: 'Get a setup link', scopes: ['read:connections', 'read:directories'], response: setupLinkSchema }, async (_req, res, { params }) => {
    res.json(await c.setupLinks.get(params.org!, params.id!));
  });
  api.delete('/organizations/:org/setup-links/:id', { tag, summary: 'Revoke a setup link', scopes: ['delete:connections', 'delete:directories'], status: 204 }, async (_req, res, { params }) => {
    await c.setupLinks.revoke(params.org!, params.id!, actorOf(res));
    res.status(204).end();
  });

  // Operators may prove a connection's domains the same way the setup pages do.
  api.post(
    '/connections/:id/domain-challenges',
    { tag, summary: 'Ask for a DNS TXT challenge to prove a domain for a connection', scopes: ['update:connections'], body: z.strictObject({ domain: domainInput }), status: 201, response: challengeSchema },
    async (_req, res, { body, params }) => {
      const connection = await c.connections.require(c.db, params.id!);
      res.status(201).json(await c.domainProofs.request({ kind: 'connection', id: connection.id, connectionId: connection.id }, body.domain));
    },
  );
  api.get('/connections/:id/domain-challenges', { tag, summary: 'DNS challenges of a connection', scopes: ['read:connections'], response: z.object({ domain_challenges: z.array(challengeSchema) }) }, async (_req, res, { params }) => {
    const connection = await c.connections.require(c.db, params.id!);
    res.json({ domain_challenges: await c.domainProofs.list(c.db, { kind: 'connection', id: connection.id, connectionId: connection.id }) });
  });
  api.post(
    '/connections/:id/domain-challenges/:domain/check',
    { tag, summary: 'Look the TXT record up; when found the domain is verified for the connection', scopes: ['update:connections'], status: 200, response: checkSchema },
    async (_req, res, { params }) => {
      const connection = await c.connections.require(c.db, params.id!);
      const parsed = domainInput.safeParse(params.domain);
      if (!parsed.success) throw notFound('Domain');
      const domain = parsed.data;
      const out = await c.domainProofs.check({ kind: 'connection', id: connection.id, connectionId: connection.id }, domain, (trx) =>
        addVerifiedDomain(trx, c.audit, connection.id, domain, actorOf(res)),
      );
      res.json({ ...out.view, result: out.check.kind === 'found' ? 'verified' : out.check.kind, ...(out.check.kind === 'not_found' ? { seen: out.check.seen } : {}) });
    },
  );
}
