import { AppError } from './errors.js';

// Cursor pagination shared by services and routes: a page of items and an opaque cursor (base64url
// JSON of the last row's sort key) for the next one.

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
