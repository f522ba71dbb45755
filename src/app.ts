import express, { Router, type Express } from 'express';
import type { Container } from './container.js';
import { apiKeyAuth, bearerToken } from './http/api-auth.js';
import { apiErrorHandler, apiNotFound } from './http/api-errors.js';
import { rateLimit } from './http/rate-limit.js';
import { healthRoutes } from './http/health.js';
import { landingRoutes } from './http/landing.js';
import { accessLog } from './http/access-log.js';
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
import { scimRoutes } from './modules/scim/routes.js';
import { apiSecurityHeaders, pageSecurityHeaders } from './http/security-headers.js';
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
  // SCIM first: it is the busiest path and shares no prefix with the rest.
  app.use('/scim', apiSecurityHeaders(), scimRoutes(c));
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
  return app;
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
