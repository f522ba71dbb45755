import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

type Headers = ReadonlyArray<readonly [string, string]>;

/**
 * helmet's default header set, worked out once at start: helmet's middleware chain sets the same
 * static values on every response, so run it against a recorder and replay what it set.
 */
function helmetHeaders(options: HelmetOptions): Headers {
  const set: Array<[string, string]> = [];
  const recorder = { setHeader: (name: string, value: string) => void set.push([name, String(value)]), removeHeader: () => {} };
  let done = false;
  helmet(options)({} as never, recorder as never, () => {
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

/**
 * `no-referrer` (helmet's default) makes Chromium send `Origin: null` on a page's own form posts, so
 * the origin checks of `/logout` and the admin forms would refuse them; `same-origin` still keeps
 * every referrer off other sites.
 */
const REFERRER: HelmetOptions['referrerPolicy'] = { policy: 'same-origin' };

/** Served over https: helmet's defaults, referrer policy aside. */
export const HTTPS_PAGE_HEADERS: Headers = helmetHeaders({ referrerPolicy: REFERRER });

/**
 * Served over plain http (a LAN host name, a test host): `upgrade-insecure-requests` would make
 * browsers fetch the stylesheet, the script and every form post over https from a server that has
 * none (Chromium exempts only localhost and 127.0.0.1). HSTS and Cross-Origin-Opener-Policy mean
 * nothing there; Chromium ignores the latter with a console error on every page.
 */
export const HTTP_PAGE_HEADERS: Headers = helmetHeaders({
  referrerPolicy: REFERRER,
  contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  strictTransportSecurity: false,
  crossOriginOpenerPolicy: false,
});

/**
 * helmet's header set on every response without running helmet's thirteen middlewares per request;
 * which set depends on PUBLIC_URL's scheme, read when a request comes (tests set it after wiring).
 */
export function pageSecurityHeaders(publicUrl: () => string): RequestHandler {
  const https = apply(HTTPS_PAGE_HEADERS);
  const http = apply(HTTP_PAGE_HEADERS);
  return (req, res, next) => (publicUrl().startsWith('https:') ? https(req, res, next) : http(req, res, next));
}
