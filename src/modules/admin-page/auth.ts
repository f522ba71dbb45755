import { Router, type Request, type RequestHandler } from 'express';
import type { Container } from '../../container.js';
import { isScope } from '../../http/scopes.js';
import { membershipsOfUser } from '../memberships/queries.js';
import { connectionIdForDomain } from '../connections/queries.js';
import { html } from './html.js';
import { layout, csrfField, type ViewContext } from './layout.js';
import { csrfToken } from './csrf.js';
import type { AdminPrincipal } from './principal.js';
import { takeFlash } from './context.js';
import { setNotice } from './notice.js';
import { ssoHandOffPage } from './sso-hand-off.js';

/** Sign-in attempts per client address per minute; API keys are unguessable, this keeps noise down. */
const SIGN_IN_ATTEMPTS_PER_MINUTE = 20;

const promisify = (fn: (cb: (err: unknown) => void) => void) =>
  new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve())));

function signInPage(ctx: ViewContext, opts: { error?: string } = {}) {
  return layout(ctx, 'Sign in', html`<section class="card narrow" aria-labelledby="sign-in-title">
    <h1 id="sign-in-title">Sign in to the admin page</h1>
    ${opts.error ? html`<p class="flash flash-error" role="alert" id="sign-in-error">${opts.error}</p>` : ''}
    <form method="post" action="/admin/sign-in" class="stack">
      ${csrfField(ctx)}
      <label for="api-key">API key</label>
      <input id="api-key" name="api_key" type="password" autocomplete="off" spellcheck="false" required
        aria-describedby="api-key-help${opts.error ? ' sign-in-error' : ''}"${opts.error ? html` aria-invalid="true"` : ''} autofocus>
      <p id="api-key-help" class="help">An API key created with <code>orgsync api-key create</code>, or the key printed at first start.
        Only the key's id is kept in your session; the page shows what the key's scopes allow.</p>
      <button type="submit">Sign in</button>
    </form>
  </section>
  <section class="card narrow" aria-labelledby="sso-title">
    <h2 id="sso-title">Organization owners and admins</h2>
    <form method="get" action="/admin/sso" class="stack">
      <label for="sso-email">Work email</label>
      <input id="sso-email" name="email" type="email" autocomplete="email" required aria-describedby="sso-help">
      <p id="sso-help" class="help">Sign in through your organization's identity provider. You will see only the organizations where you are an owner or admin.</p>
      <button type="submit" class="secondary">Continue with SSO</button>
    </form>
  </section>`);
}

/** Sign in with an API key; sign out. Both forms pass the CSRF guard first. */
export function authRoutes(c: Container): Router {
  const r = Router();
  r.get('/sign-in', (req, res) => {
    res.send(signInPage({ csrf: csrfToken(req, res), flash: takeFlash(req, res) }).value);
  });

  r.post('/sign-in', async (req, res) => {
    const limit = await c.rateLimiter.hit(`admin-sign-in:${req.ip ?? 'unknown'}`, SIGN_IN_ATTEMPTS_PER_MINUTE);
    if (!limit.allowed) {
      res.status(429).send(signInPage({ csrf: csrfToken(req, res) }, { error: 'Too many sign-in attempts. Wait a minute and try again.' }).value);
      return;
    }
    const body = req.body as Record<string, unknown>;
    const plaintext = typeof body.api_key === 'string' ? body.api_key.trim() : '';
    const key = plaintext ? await c.apiKeys.authenticate(plaintext) : undefined;
    if (!key) {
      res.status(401).send(signInPage({ csrf: csrfToken(req, res) }, { error: 'That API key is not valid or has been revoked.' }).value);
      return;
    }
    // A fresh session id at sign-in: a session id planted before sign-in is worth nothing after it.
    await promisify((cb) => req.session.regenerate(cb));
    req.session.adminApiKeyId = key.id;
    req.session.adminFlash = { kind: 'ok', text: `Signed in with API key "${key.name}".` };
    csrfToken(req, res);
    await promisify((cb) => req.session.save(cb));
    res.redirect(303, '/admin/organizations');
  });

  // Finds the connection that verified the email's domain and starts its sign-in, back to /admin.
  r.get('/sso', async (req, res) => {
    const email = typeof req.query.email === 'string' ? req.query.email.trim().toLowerCase() : '';
    const domain = email.includes('@') ? email.slice(email.lastIndexOf('@') + 1) : '';
    const connectionId = domain ? await connectionIdForDomain(c.db, domain) : undefined;
    const connection = connectionId ? await c.connections.get(connectionId) : undefined;
    if (!connection) {
      setNotice(res, 'no_sso_connection', c.config.publicUrl.startsWith('https://'));
      res.redirect(303, '/admin/sign-in');
      return;
    }
    res.send(ssoHandOffPage({ csrf: csrfToken(req, res) }, `${connection.sp.login_url}?return_to=${encodeURIComponent('/admin/organizations')}`).value);
  });

  r.post('/sign-out', async (req, res) => {
    await promisify((cb) => req.session.destroy(cb));
    res.clearCookie('orgsync.sid', { path: '/' });
    res.redirect(303, '/admin/sign-in');
  });
  return r;
}

/** Resolves the session to a principal on every request, so a revoked key stops working at once. */
export function loadPrincipal(c: Container): RequestHandler {
  return async (req, res, next) => {
    const principal = await resolvePrincipal(c, req);
    if (!principal) {
      const wanted = req.method === 'GET' ? req.originalUrl : undefined;
      // A session that exists already carries its own message; a visitor without one gets a cookie.
      if (wanted && wanted !== '/admin' && wanted !== '/admin/' && !req.session.adminFlash) setNotice(res, 'sign_in_required', c.config.publicUrl.startsWith('https://'));
      res.redirect(303, '/admin/sign-in');
      return;
    }
    res.locals.adminPrincipal = principal;
    next();
  };
}

async function resolvePrincipal(c: Container, req: Request): Promise<AdminPrincipal | undefined> {
  const keyId = req.session.adminApiKeyId;
  if (keyId) {
    const key = await c.apiKeys.findActive(keyId);
    if (key) return { kind: 'api_key', apiKeyId: key.id, label: `API key "${key.name}"`, scopes: new Set(key.scopes.filter(isScope)) };
    delete req.session.adminApiKeyId;
    req.session.adminFlash = { kind: 'error', text: 'Your API key was revoked. Sign in with another key.' };
  }
  const userId = req.session.userId;
  if (userId) {
    const user = await c.users.get(userId).catch(() => undefined);
    if (!user?.active) return undefined;
    // Only organizations where the user is an active owner or admin; flagged members have no access.
    const administered = (await membershipsOfUser(c.db, userId)).filter((m) => m.status === 'active' && (m.role === 'owner' || m.role === 'admin'));
    if (administered.length === 0) {
      req.session.adminFlash = { kind: 'error', text: `${user.email} is not an owner or admin of any organization. Sign in with an API key instead.` };
      return undefined;
    }
    return { kind: 'sso', userId, label: user.email, organizationIds: new Set(administered.map((m) => m.organization_id)) };
  }
  return undefined;
}
