import { z } from 'zod';

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

// Cursor and page helpers live below http/ so services can use them; routes keep importing them here.
export { cursorOf, decodeCursor, encodeCursor, toPage, type Page } from '../platform/paging.js';
