import { Router } from 'express';

const PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>orgsync</title>' +
  '<link rel="icon" href="/admin/assets/favicon.svg" type="image/svg+xml">' +
  '<style>body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:40rem;margin:0 auto;padding:2rem 1rem;color:#1d2430;background:#f6f7f9}' +
  'a{color:#1f5fd6}ul{list-style:none;padding:0;display:grid;gap:.5rem}li{background:#fff;border:1px solid #d7dce3;border-radius:8px;padding:.75rem 1rem}' +
  '.muted{color:#5b6472}</style></head><body>' +
  '<h1>orgsync</h1><p class="muted">SSO identity sync: SCIM 2.0, SAML and OpenID Connect sign-in, flagged-member reports.</p><ul>' +
  '<li><a href="/admin">Admin page</a><br><span class="muted">Organizations, flagged members, sync reports, audit log, connections. Sign in with an API key or as an organization owner or admin.</span></li>' +
  '<li><a href="/account">Your account</a><br><span class="muted">Sign in through your organization’s identity provider to see your organizations.</span></li>' +
  '<li><a href="/api/v1/openapi.json">API reference</a><br><span class="muted">The OpenAPI document of the management API at <code>/api/v1</code>.</span></li>' +
  '</ul></body></html>';

/**
 * `GET /` for a browser: where to go next. Anything else (an API client, a health checker) keeps
 * the JSON 404 of unknown routes.
 */
export function landingRoutes(): Router {
  const r = Router();
  r.get('/', (req, res, next) => {
    // `*/*` and no Accept at all prefer JSON: only a client that asks for HTML gets the page.
    if (req.accepts(['application/json', 'text/html']) !== 'text/html') return next();
    res.setHeader('cache-control', 'no-store');
    res.type('html').send(PAGE);
  });
  return r;
}
