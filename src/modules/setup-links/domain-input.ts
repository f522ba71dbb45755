import { z } from 'zod';

/** A registrable host name such as acme.com (lower-cased); the same rule as connection domains. */
export const domainInput = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a domain name such as acme.com');
