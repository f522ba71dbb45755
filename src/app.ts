import express, { Router, type Express } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { Container } from './container.js';
import { apiKeyAuth, bearerToken } from './http/api-auth.js';
import { apiErrorHandler, apiNotFound } from './http/api-errors.js';
import { rateLimit } from './http/rate-limit.js';
import { healthRoutes } from './http/health.js';
import { landingRoutes } from './http/landing.js';
import { accessLog, requestLog } from './http/access-log.js';
import { sha256 } from './platform/crypto.js';
import { organizationRoutes } from './modules/organizations/routes.js';
import { userRoutes } from './modules/users/routes.js';
import { apiKeyRoutes } from './modules/api-keys/routes.js';
import { auditRoutes } from './modules/audit/routes.js';
import { ApiRouter } from './http/api-router.js';
import { memberRoutes } from './modules/members/routes.js';
import { reportRoutes } from './modules/reports/routes.js';
import { reconcileRoutes } from './modules/flags/routes.js';
import { buildOpenApiDocument } from './http/openapi.js';
import { connectionRoutes } from './modules/connections/routes.js';
import { sessionMiddleware } from './http/session.js';
import { adminPage } from './modules/admin-page/routes.js';
import { meRoutes, ssoRoutes } from './modules/sso/routes.js';
import { directoryRoutes } from './modules/directories/routes.js';
import { scimEndpoint, scimTarget } from './modules/scim/routes.js';
import { API_HEADERS, pageSecurityHeaders } from './http/security-headers.js';
import { eventRoutes } from './modules/events/routes.js';
import { webhookRoutes } from './modules/webhooks/routes.js';
import { setupLinkRoutes } from './modules/setup-links/routes.js';
import { setupPages } from './modules/setup-links/web-routes.js';

/** Builds the express app from a container. No I/O happens here. */
export function createApp(c: Container): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Client addresses (rate limits) come from X-Forwarded-For only through the proxies named here.
  app.set('trust proxy', c.config.trustProxy);
  app.use(accessLog(c.logger));
  app.use(pageSecurityHeaders(() => c.config.publicUrl));
  app.use(healthRoutes(c));

  const session = sessionMiddleware(c);
  // Session-authenticated: before the API-key middleware of /api/v1.
  app.use(meRoutes(c));
  app.use('/api/v1', managementApi(c));
  app.use('/admin', adminPage(c, session));
  app.use('/setup', setupPages(c));
  app.use(ssoRoutes(c));
  app.use(landingRoutes());

  app.use(apiNotFound);
  app.use(apiErrorHandler(c.logger));
  return withScimFirst(app, c);
}

/**
 * Requests under `/scim` go straight to the SCIM endpoint, before express sees them: it is the
 * busiest path (IdPs provision in bulk), shares no prefix with the rest and needs nothing of
 * express. Everything else goes to the express app as usual. The app stays an express app (its
 * `listen`, `createServer(app)`), with its entry point wrapped.
 */
function withScimFirst(app: Express, c: Container): Express {
  const log = requestLog(c.logger);
  // The caller's address under the app's `trust proxy` setting, as express's `req.ip`.
  const scim = scimEndpoint(c, (req) => proxyaddr(req, app.get('trust proxy fn') as (addr: string, i: number) => boolean));
  const expressHandle = (app as unknown as ExpressEntry).handle.bind(app);
  (app as unknown as ExpressEntry).handle = (req, res, next) => {
    const target = scimTarget(req.url);
    if (!target) {
      expressHandle(req, res, next);
      return;
    }
    log(req, res, req.url!.split('?')[0]!);
    for (const [name, value] of API_HEADERS) res.setHeader(name, value);
    scim(req, res, target);
  };
  return app;
}

/** express's own entry point, which the app function calls for each request. */
interface ExpressEntry {
  handle(req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
}

/** Registers every management API operation; the OpenAPI document is generated from these. */
export function registerApiOperations(c: Container): ApiRouter {
  const api = new ApiRouter();
  organizationRoutes(c, api);
  userRoutes(c, api);
  apiKeyRoutes(c, api);
  auditRoutes(c, api);
  connectionRoutes(c, api);
  memberRoutes(c, api);
  reportRoutes(c, api);
  reconcileRoutes(c, api);
  directoryRoutes(c, api);
  eventRoutes(c, api);
  webhookRoutes(c, api);
  setupLinkRoutes(c, api);
  return api;
}

export function managementApi(c: Container): Router {
  const operations = registerApiOperations(c);
  const api = Router();
  api.get('/openapi.json', (_req, res) => {
    res.json(buildOpenApiDocument(operations.operations, { version: '1', serverUrl: c.config.publicUrl }));
  });
  api.use(express.json({ limit: '1mb' }));
  // Counted before authentication so failed attempts are limited too; keyed by the token's hash.
  api.use(
    rateLimit(c.rateLimiter, c.config.rateLimitApiPerMinute, (req) => {
      const token = bearerToken(req.headers.authorization);
      return token ? `api:${sha256(token).slice(0, 32)}` : `api-ip:${req.ip ?? 'unknown'}`;
    }),
  );
  api.use(apiKeyAuth(c.apiKeys));
  api.use(operations.router);
  api.use(apiNotFound);
  api.use(apiErrorHandler(c.logger));
  return api;
}
