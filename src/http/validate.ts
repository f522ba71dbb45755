import type { z } from 'zod';
import { AppError } from '../platform/errors.js';

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid value';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** Validates a request body; the 400 names the first bad field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw new AppError('invalid_body', 400, `Invalid request body: ${describe(result.error)}.`);
  return result.data;
}

export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const result = schema.safeParse(query ?? {});
  if (!result.success) throw new AppError('invalid_query_string', 400, `Invalid query string: ${describe(result.error)}.`);
  return result.data;
}
