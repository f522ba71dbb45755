import { AppError } from '../../platform/errors.js';

export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 §3.12 scimType values we use. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export const scimError = (status: number, scimType: ScimType | undefined, detail: string): AppError =>
  // Deliberate SCIM errors always show their detail (501 for /Me included); only unexpected ones are hidden.
  new AppError(`scim_${scimType ?? status}`, status, detail, { scimType, expose: true });

export const invalidFilter = (detail: string) => scimError(400, 'invalidFilter', detail);
export const invalidPath = (detail: string) => scimError(400, 'invalidPath', detail);
export const invalidValue = (detail: string) => scimError(400, 'invalidValue', detail);
export const invalidSyntax = (detail: string) => scimError(400, 'invalidSyntax', detail);
export const noTarget = (detail: string) => scimError(400, 'noTarget', detail);
export const mutability = (detail: string) => scimError(400, 'mutability', detail);
export const uniqueness = (detail: string) => scimError(409, 'uniqueness', detail);
export const resourceNotFound = (kind: string, id: string) => scimError(404, undefined, `${kind} ${id} not found.`);
export const preconditionFailed = () => scimError(412, undefined, 'The resource changed: If-Match does not match its current version.');

export interface ScimErrorBody {
  schemas: [typeof SCIM_ERROR_SCHEMA];
  status: string;
  scimType?: string;
  detail: string;
}

export function scimErrorBody(err: AppError): ScimErrorBody {
  const body: ScimErrorBody = { schemas: [SCIM_ERROR_SCHEMA], status: String(err.status), detail: err.expose ? err.message : 'An unexpected error occurred.' };
  if (err.options.scimType) body.scimType = err.options.scimType;
  return body;
}

/** Attribute path segments that would reach object prototypes; rejected wherever a path appears. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
export const isForbiddenSegment = (segment: string): boolean => FORBIDDEN.has(segment.toLowerCase());

/** Rejects a request body that carries a forbidden key at any depth (iterative: no deep recursion). */
export function assertSafeKeys(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === 'object') {
      for (const key of Object.keys(v)) {
        if (key.split(/[.:]/).some(isForbiddenSegment)) throw invalidPath(`Attribute name "${key}" is not allowed.`);
        stack.push((v as Record<string, unknown>)[key]);
      }
    }
  }
}
