import type { Response } from 'express';

export const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A value to paste into the IdP, with a copy button (setup.js). */
export const copyable = (value: string): string => `<span class="value"><code>${esc(value)}</code><button type="button" class="copy" data-copy="${esc(value)}">Copy</button></span>`;

export const hidden = (name: string, value: string): string => `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`;

/**
 * No inline script or style and nothing from elsewhere: the page holds IdP secrets and a credential
 * in its cookie. Form posts stay on this origin.
 */
export const SETUP_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function sendPage(res: Response, status: number, title: string, body: string): void {
  res
    .status(status)
    .type('html')
    .setHeader('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>` +
        `<link rel="icon" href="/setup/assets/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/setup/assets/setup.css"></head><body><main>${body}</main><script src="/setup/assets/setup.js"></script></body></html>`,
    );
}
