import type { RequestHandler, Response } from 'express';
import type { ApiKeyService, ApiKey } from '../modules/api-keys/service.js';
import { insufficientScope } from '../modules/api-keys/service.js';
import { AppError } from '../platform/errors.js';
import type { Actor } from '../modules/audit/types.js';
import type { Scope } from './scopes.js';

export interface ApiLocals {
  apiKey?: ApiKey;
  actor?: Actor;
}

export const bearerToken = (header: string | undefined): string | undefined => {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
};

/** Authenticates `Authorization: Bearer <api key>` and sets `res.locals.apiKey` and `actor`. */
export function apiKeyAuth(apiKeys: ApiKeyService): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) return next(new AppError('invalid_token', 401, 'Missing or malformed bearer token.', { headers: { 'WWW-Authenticate': 'Bearer' } }));
    const key = await apiKeys.authenticate(token);
    if (!key) return next(new AppError('invalid_token', 401, 'Invalid or revoked API key.', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } }));
    res.locals.apiKey = key;
    res.locals.actor = { type: 'api_key', id: key.id } satisfies Actor;
    next();
  };
}

/** Allows the request when the key holds any of `scopes`. */
export function requireScope(...scopes: Scope[]): RequestHandler {
  return (_req, res, next) => {
    const key = res.locals.apiKey as ApiKey | undefined;
    if (!key) return next(new AppError('invalid_token', 401, 'Missing or malformed bearer token.'));
    if (!scopes.some((s) => key.scopes.includes(s))) return next(insufficientScope(scopes));
    next();
  };
}

export const actorOf = (res: Response): Actor => (res.locals.actor as Actor | undefined) ?? { type: 'system', id: null };
