import { html, type SafeHtml } from './html.js';
import { layout, type ViewContext } from './layout.js';

/**
 * Where "Continue with SSO" lands: a page that sends the browser on to the connection's sign-in by
 * `<meta http-equiv="refresh">`. Answering the form with a redirect would make the IdP's redirects
 * part of the form submission, and Chromium applies CSP `form-action 'self'` to every hop of it:
 * the sign-in would stop at the first redirect to the IdP.
 */
export function ssoHandOffPage(ctx: ViewContext, loginUrl: string): SafeHtml {
  return layout(
    ctx,
    'Continuing to your identity provider',
    html`<section class="card narrow" aria-labelledby="hand-off-title">
      <h1 id="hand-off-title">Continuing to your identity provider…</h1>
      <p>If nothing happens, <a href="${loginUrl}" id="hand-off-link">continue to your organization's sign-in</a>.</p>
    </section>`,
    { refreshTo: loginUrl },
  );
}
