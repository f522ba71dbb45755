import express, { Router, type Express } from 'express';
import helmet from 'helmet';
import type { Container } from './container.js';
import { apiKeyAuth, bearerToken } from './http/api-auth.js';
import { apiErrorHandler, apiNotFound } from './http/api-errors.js';
import { rateLimit } from './http/rate-limit.js';
import { healthRoutes } from './http/health.js';
import { sha256 } from './platform/crypto.js';
import { organizationRoutes } from './modules/organizations/routes.js';
import { userRoutes } from './modules/users/routes.js';
import { apiKeyRoutes } from './modules/api-keys/routes.js';
import { auditRoutes } from './modules/audit/routes.js';

/** Builds the express app from a container. No I/O happens here. */
export function createApp(c: Container): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(helmet());
  app.use(healthRoutes(c));

  app.use('/api/v1', managementApi(c));

  app.use(apiNotFound);
  app.use(apiErrorHandler(c.logger));
  return app;
}

function managementApi(c: Container): Router {
  const api = Router();
  api.use(express.json({ limit: '1mb' }));
  // Counted before authentication so failed attempts are limited too; keyed by the token's hash.
  api.use(
    rateLimit(c.rateLimiter, c.config.rateLimitApiPerMinute, (req) => {
      const token = bearerToken(req.headers.authorization);
      return token ? `api:${sha256(token).slice(0, 32)}` : `api-ip:${req.ip ?? 'unknown'}`;
    }),
  );
  api.use(apiKeyAuth(c.apiKeys));
  api.use(organizationRoutes(c));
  api.use(userRoutes(c));
  api.use(apiKeyRoutes(c));
  api.use(auditRoutes(c));
  api.use(apiNotFound);
  api.use(apiErrorHandler(c.logger));
  return api;
}
