import { z } from 'zod';
import { AppError } from '../platform/errors.js';

export const MAX_TAKE = 1000;
export const DEFAULT_TAKE = 50;

export const paginationQuery = {
  take: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_TAKE, `must be at most ${MAX_TAKE}`))
    .optional(),
  from: z.string().max(500).optional(),
};

/** `?take=&from=` for list routes: take defaults to 50, at most 1000. */
export const pageQuery = z.object({
  take: paginationQuery.take.transform((v) => v ?? DEFAULT_TAKE),
  from: paginationQuery.from,
});

/** The list response shape: `{"<plural>": [...], "next": cursor|null}`. */
export const listOf = <K extends string>(plural: K, item: z.ZodType) =>
  z.object({ [plural]: z.array(item), next: z.string().nullable() } as Record<K, z.ZodType> & { next: z.ZodType });

/** Decodes a cursor whose single field is `field`. */
export const cursorOf = (from: string | undefined, field: string): string | undefined => {
  const c = decodeCursor<Record<string, string>>(from, [field]);
  return c?.[field];
};

export interface Page<T> {
  items: T[];
  next: string | null;
}

/** Opaque cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<K extends Record<string, string | number>>(cursor: string | undefined, fields: (keyof K)[]): K | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (value && typeof value === 'object' && fields.every((f) => ['string', 'number'].includes(typeof (value as K)[f]))) {
      return value as K;
    }
  } catch {
    // fall through to the error below
  }
  throw new AppError('invalid_query_string', 400, 'Invalid query string: from: not a valid cursor.');
}

/** Given `take + 1` rows, returns the page and the cursor for the next one. */
export function toPage<T>(rows: T[], take: number, cursorOf: (row: T) => Record<string, string | number>): Page<T> {
  const items = rows.slice(0, take);
  const last = items[items.length - 1];
  return { items, next: rows.length > take && last ? encodeCursor(cursorOf(last)) : null };
}
