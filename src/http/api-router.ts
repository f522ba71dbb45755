import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import { requireScope } from './api-auth.js';
import { parseBody, parseQuery } from './validate.js';
import type { Scope } from './scopes.js';
import { AppError } from '../platform/errors.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface OperationSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  summary: string;
  tag: string;
  /** Allowed when the API key holds any of these. Omit for routes with their own auth (sessions). */
  scopes?: Scope[];
  auth?: 'api_key' | 'session';
  body?: B;
  query?: Q;
  /** Success status and what it returns. */
  status?: number;
  response?: z.ZodType | 'csv' | 'empty';
  description?: string;
}

export interface Operation {
  method: Method;
  path: string;
  spec: OperationSpec<z.ZodType | undefined, z.ZodType | undefined>;
}

type Infer<S> = S extends z.ZodType ? z.infer<S> : undefined;

export interface Input<B, Q> {
  body: B;
  query: Q;
  params: Record<string, string>;
}

export type Handler<B, Q> = (req: Request, res: Response, input: Input<B, Q>) => Promise<void> | void;

/**
 * A body that is not JSON (a form post, `text/plain`, no Content-Type) is never parsed, so without
 * this it would fail validation as if every field were missing. No body at all is left to the
 * schema, which names the first required field.
 */
function requireJsonBody(req: Request): void {
  if (req.is(['application/json', 'application/*+json']) === false) {
    throw new AppError('unsupported_media_type', 415, `Send the request body as JSON with Content-Type: application/json (got ${req.headers['content-type'] ? `"${req.headers['content-type'].slice(0, 100)}"` : 'no Content-Type'}).`);
  }
}

/**
 * An express router that records every operation with the zod schemas that validate it, so the
 * OpenAPI document is generated from the same definitions that guard the requests.
 */
export class ApiRouter {
  readonly router = Router();
  readonly operations: Operation[] = [];

  constructor(private readonly prefix = '') {}

  get<Q extends z.ZodType | undefined = undefined>(path: string, spec: OperationSpec<undefined, Q>, handler: Handler<undefined, Infer<Q>>): void {
    this.add('get', path, spec, handler);
  }
  post<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
    path: string,
    spec: OperationSpec<B, Q>,
    handler: Handler<Infer<B>, Infer<Q>>,
  ): void {
    this.add('post', path, spec, handler);
  }
  put<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
    path: string,
    spec: OperationSpec<B, Q>,
    handler: Handler<Infer<B>, Infer<Q>>,
  ): void {
    this.add('put', path, spec, handler);
  }
  patch<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
    path: string,
    spec: OperationSpec<B, Q>,
    handler: Handler<Infer<B>, Infer<Q>>,
  ): void {
    this.add('patch', path, spec, handler);
  }
  delete<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
    path: string,
    spec: OperationSpec<B, Q>,
    handler: Handler<Infer<B>, Infer<Q>>,
  ): void {
    this.add('delete', path, spec, handler);
  }

  private add<B extends z.ZodType | undefined, Q extends z.ZodType | undefined>(
    method: Method,
    path: string,
    spec: OperationSpec<B, Q>,
    handler: Handler<Infer<B>, Infer<Q>>,
  ): void {
    this.operations.push({ method, path: this.prefix + path, spec });
    const guards: RequestHandler[] = spec.scopes ? [requireScope(...spec.scopes)] : [];
    this.router[method](path, ...guards, async (req, res) => {
      if (spec.body) requireJsonBody(req);
      const input: Input<Infer<B>, Infer<Q>> = {
        body: (spec.body ? parseBody(spec.body, req.body) : undefined) as Infer<B>,
        query: (spec.query ? parseQuery(spec.query, req.query) : undefined) as Infer<Q>,
        params: Object.fromEntries(Object.entries(req.params).map(([k, v]) => [k, String(v)])),
      };
      await handler(req, res, input);
    });
  }
}
