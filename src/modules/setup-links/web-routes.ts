import { fileURLToPath } from 'node:url';
import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { apiErrorBody, toAppError } from '../../http/api-errors.js';
import { anonymousRateLimit } from '../../http/anonymous-limit.js';
import { parseBody } from '../../http/validate.js';
import { notFound } from '../../platform/errors.js';
import { ROLES } from '../memberships/types.js';
import { domainInput } from './domain-input.js';
import { LinkSession, SETUP_COOKIE } from './link-session.js';
import { esc, sendPage, SETUP_CSP } from './pages/html.js';
import { directorySummary, setupPageBody } from './pages/setup-page.js';
import { PROVIDERS, type ProviderKey } from './providers.js';
import type { SetupLinkRow } from './queries.js';
import { setupLinkActor } from './service.js';
import type { SamlInput } from './setup-flow.js';

const ASSETS = fileURLToPath(new URL('./assets', import.meta.url));

const wantsJson = (req: Request): boolean => /application\/json/.test(req.headers.accept ?? '') && !/text\/html/.test(req.headers.accept ?? '');

const groupList = z.union([z.string().max(20_000).transform((v) => v.split(',')), z.array(z.string().max(500)).max(1000)]).transform((v) => [...new Set(v.map((g) => g.trim()).filter(Boolean))]);
const rolesBody = z.object({
  everyone: z.union([z.enum(ROLES as ['owner', 'admin', 'member']), z.literal(''), z.null()]).optional(),
  groups_owner: groupList.optional(),
  groups_admin: groupList.optional(),
  groups_member: groupList.optional(),
});
const samlBody = z.union([
  z.object({ metadata_url: z.string().trim().min(1).max(2000) }),
  z.object({ metadata_xml: z.string().min(1) }),
  z.object({ entity_id: z.string().trim().min(1).max(1000), sso_url: z.string().trim().min(1).max(2000), certificate: z.string().min(1).max(20_000) }),
]);
const oidcBody = z.object({
  issuer: z.string().trim().min(1).max(2000),
  client_id: z.string().trim().min(1).max(500),
  client_secret: z.string().min(1).max(2000),
  // Space-separated, as providers document them; empty means openid email profile.
  scopes: z
    .string()
    .max(500)
    .transform((v) => v.split(/\s+/).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be scope tokens')).max(30))
    .optional(),
});
const providerBody = z.object({ provider: z.enum(PROVIDERS.map((p) => p.key) as [ProviderKey, ...ProviderKey[]]) });
const domainBody = z.object({ domain: domainInput });

/** Notices by code: the address bar never carries text the page would show as ours. */
const NOTICES = {
  idp_saved: 'Identity provider settings saved.',
  roles_saved: 'Roles saved.',
  domain_verified: 'The domain is verified.',
  domain_not_found: 'The TXT record was not found yet. DNS changes can take a few minutes; check again soon.',
  domain_lookup_failed: 'The DNS lookup failed; try again in a minute.',
} as const;
type Notice = keyof typeof NOTICES;

interface ActionResult {
  notice?: Notice;
  anchor?: string;
  json?: unknown;
  created?: { scim_base_url: string; token: string };
  /** The link is spent: answered with a closing page instead of a redirect to it. */
  done?: string;
}

/**
 * The pages a setup link opens (`/setup`): no account or API key, the link is the credential.
 * Its token is swapped for a signed cookie on first visit; every change needs the CSRF token.
 */
export function setupPages(c: Container): Router {
  const r = Router();
  const session = new LinkSession(c.secretBox);
  const origin = () => new URL(c.config.publicUrl).origin;
  r.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', SETUP_CSP);
    // Not no-referrer: with it Chromium sends `Origin: null` on form posts and the Origin check fails.
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  r.use('/assets', express.static(ASSETS, { index: false, fallthrough: false, maxAge: '1h' }));
  // Anonymous callers share one budget per client with the SSO and admin sign-in endpoints.
  r.use(anonymousRateLimit(c.anonymousLimiter));
  r.use(express.urlencoded({ extended: false, limit: '600kb', parameterLimit: 20 }), express.json({ limit: '600kb' }));

  const current = async (req: Request): Promise<SetupLinkRow> => {
    const id = session.linkIdOf(req);
    if (!id) throw notFound('Setup link');
    return c.setupLinks.live(c.db, id);
  };

  r.get('/', async (req, res) => {
    if (typeof req.query.link === 'string') {
      const link = await c.setupLinks.openByToken(req.query.link);
      await c.setupLinks.touch(link);
      await c.audit.record(c.db, { action: 'setup_link.opened', actor: setupLinkActor(link), organizationId: link.organization_id, detail: { setup_link_id: link.id } });
      const maxAge = Math.max(1, Math.floor((Date.parse(link.expires_at) - c.clock.now().getTime()) / 1000));
      const secure = c.config.publicUrl.startsWith('https:') ? '; Secure' : '';
      res.setHeader('Set-Cookie', `${SETUP_COOKIE}=${session.cookieFor(link.id)}; Path=/setup; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`);
      // The token leaves the address bar: history and screenshots keep only /setup.
      res.redirect(303, '/setup');
      return;
    }
    const link = await current(req);
    const state = await c.setupFlow.state(link);
    if (wantsJson(req)) return void res.json({ ...state, csrf_token: session.csrfToken(link.id) });
    const notice = NOTICES[String(req.query.done) as Notice] as string | undefined;
    sendPage(res, 200, `Set up ${state.organization.display_name}`, setupPageBody(state, session.csrfToken(link.id), { notice }));
  });

  r.get('/directory/status', async (req, res) => {
    const state = await c.setupFlow.state(await current(req));
    if (!state.directory) throw notFound('Directory');
    res.json({ ...state.directory, summary: directorySummary(state.directory, c.clock.now().getTime()) });
  });

  const action = (path: string, run: (link: SetupLinkRow, req: Request) => Promise<ActionResult>) => {
    r.post(path, async (req, res) => {
      const link = await current(req);
      session.assertCsrf(req, link.id, origin());
      const out = await run(link, req);
      await c.setupLinks.touch(link);
      if (wantsJson(req)) res.json(out.json ?? { ok: true });
      else if (out.done) sendPage(res, 200, 'Setup complete', `<h1>Setup complete</h1><p class="notice" role="status">${esc(out.done)}</p><p>This link can no longer be used. You can close this page.</p>`);
      else if (out.created) sendPage(res, 201, 'Directory created', setupPageBody(await c.setupFlow.state(await c.setupLinks.live(c.db, link.id)), session.csrfToken(link.id), { created: out.created }));
      else res.redirect(303, `/setup${out.notice ? `?done=${out.notice}` : ''}#${out.anchor ?? ''}`);
    });
  };

  action('/provider', async (link, req) => {
    await c.setupFlow.chooseProvider(link, parseBody(providerBody, req.body).provider);
    return { anchor: 'configure' };
  });
  action('/saml', async (link, req) => {
    await c.setupFlow.saveSaml(link, parseBody(samlBody, req.body) as SamlInput);
    return { anchor: 'domains', notice: 'idp_saved' };
  });
  action('/oidc', async (link, req) => {
    await c.setupFlow.saveOidc(link, parseBody(oidcBody, req.body));
    return { anchor: 'domains', notice: 'idp_saved' };
  });
  action('/domains', async (link, req) => {
    const view = await c.setupFlow.addDomain(link, parseBody(domainBody, req.body).domain);
    return { anchor: 'domains', json: view };
  });
  action('/domains/:domain/check', async (link, req) => {
    const domain = domainInput.safeParse(req.params.domain);
    if (!domain.success) throw notFound('Domain');
    const out = await c.setupFlow.checkDomain(link, domain.data);
    const found = out.check.kind === 'found' || out.check.kind === 'already_verified';
    const notice: Notice = found ? 'domain_verified' : out.check.kind === 'lookup_failed' ? 'domain_lookup_failed' : 'domain_not_found';
    return { anchor: 'domains', notice, json: { ...out.view, result: out.check.kind === 'found' ? 'verified' : out.check.kind } };
  });
  action('/domains/:domain/delete', async (link, req) => {
    await c.setupFlow.removeDomain(link, String(req.params.domain).toLowerCase());
    return { anchor: 'domains' };
  });
  action('/roles', async (link, req) => {
    const b = parseBody(rolesBody, req.body);
    await c.setupFlow.saveRoles(link, { everyone: b.everyone || null, owner: b.groups_owner ?? [], admin: b.groups_admin ?? [], member: b.groups_member ?? [] });
    return { anchor: 'test', notice: 'roles_saved' };
  });
  action('/directory', async (link) => {
    const created = await c.setupFlow.createDirectory(link);
    return { created, json: created };
  });
  action('/finish', async (link) => {
    await c.setupFlow.finish(link);
    return { json: { finished: true }, done: 'Your organization is set up: what you configured is now active.' };
  });

  r.use(errorPage(c, session));
  return r;
}

function errorPage(c: Container, session: LinkSession): ErrorRequestHandler {
  return async (err, req, res: Response, _next) => {
    const e = toAppError(err);
    if (e.status >= 500) c.logger.error({ err, path: req.path }, 'setup page failed');
    if (res.headersSent) return void res.destroy();
    for (const [k, v] of Object.entries(e.options.headers ?? {})) res.setHeader(k, v);
    if (wantsJson(req)) return void res.status(e.status).json(apiErrorBody(e));
    const message = apiErrorBody(e).message;
    // A form that failed is answered on the setup page itself, with the message above it.
    const id = session.linkIdOf(req);
    const link = id && req.method === 'POST' && e.status < 500 ? await c.setupLinks.live(c.db, id).catch(() => undefined) : undefined;
    if (link) {
      const state = await c.setupFlow.state(link);
      return void sendPage(res, e.status, 'Setup', setupPageBody(state, session.csrfToken(link.id), { error: message }));
    }
    sendPage(res, e.status, 'Setup link', `<h1>Setup link</h1><p class="error">${esc(message)}</p>`);
  };
}
