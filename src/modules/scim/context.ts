import type { Container } from '../../container.js';
import type { Trx } from '../../platform/db.js';
import { dialectOf } from '../../platform/db.js';
import type { Actor } from '../audit/types.js';
import { touchDirectory } from '../directories/queries.js';
import { preconditionFailed, uniqueness } from './errors.js';
import { isUniqueViolation } from '../../platform/db-errors.js';
import { etagOf } from './user-view.js';

/** One authenticated SCIM request: which directory, for whom, and when it arrived. */
export interface ScimContext {
  directoryId: string;
  connectionId: string;
  /** `${PUBLIC_URL}/scim/v2/{directory}` */
  baseUrl: string;
  actor: Actor;
  at: string;
}

/** `If-Match: *`, `W/"3"`, `"3"`, or a list of them. */
export function checkIfMatch(ifMatch: string | undefined, version: number): void {
  if (!ifMatch) return;
  const wanted = ifMatch.split(',').map((s) => s.trim());
  if (wanted.includes('*')) return;
  const current = etagOf(version);
  if (!wanted.some((w) => w === current || w === current.slice(2))) throw preconditionFailed();
}

/**
 * Runs a SCIM write in one transaction (the lifecycle listener, audit and events share it), records
 * directory activity, and maps unique-constraint failures on either database to 409 uniqueness.
 */
export async function write<T>(c: Container, ctx: ScimContext, what: string, fn: (trx: Trx) => Promise<T>): Promise<T> {
  try {
    return await c.db.transaction(async (trx) => {
      const result = await fn(trx);
      await touchDirectory(trx, ctx.directoryId, ctx.at);
      return result;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw uniqueness(`${what} is already taken in this directory.`);
    throw err;
  }
}

/** Row lock on PostgreSQL so concurrent PATCHes of one resource apply in turn; SQLite has one writer anyway. */
export const lockable = (trx: Trx) => dialectOf(trx) === 'pg';
