import type { RequestHandler } from 'express';
import helmet from 'helmet';

type Headers = ReadonlyArray<readonly [string, string]>;

/**
 * helmet's default header set, worked out once at start: helmet's middleware chain sets the same
 * static values on every response, so run it against a recorder and replay what it set.
 */
function helmetDefaults(): Headers {
  const set: Array<[string, string]> = [];
  const recorder = { setHeader: (name: string, value: string) => void set.push([name, String(value)]), removeHeader: () => {} };
  let done = false;
  helmet()({} as never, recorder as never, () => {
    done = true;
  });
  if (!done) throw new Error('helmet did not finish synchronously');
  return set;
}

/**
 * Machine-to-machine JSON (SCIM): nothing there is ever rendered by a browser, so the page policies
 * give way to the set recommended for JSON APIs: no framing, no sniffing, no caching, HTTPS only.
 */
export const API_HEADERS: Headers = [
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  ['Cache-Control', 'no-store'],
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
];

function apply(headers: Headers): RequestHandler {
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/** helmet's defaults on every response, without running helmet's thirteen middlewares per request. */
export const pageSecurityHeaders = (): RequestHandler => apply(helmetDefaults());

/** The lean API set, for the SCIM endpoint. */
export const apiSecurityHeaders = (): RequestHandler => apply(API_HEADERS);
