import type { Request, Response } from 'express';

export const wantsJson = (req: Request): boolean => {
  const accept = req.headers.accept ?? '';
  return /application\/json/.test(accept) && !/text\/html/.test(accept);
};

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The sign-in pages' one small stylesheet (inline styles are allowed by the CSP; no script is). */
const STYLE =
  'body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:46rem;margin:0 auto;padding:1.5rem 1rem;color:#1d2430;background:#f6f7f9}' +
  'h1{font-size:1.5rem;margin:.5rem 0 .25rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}a{color:#1f5fd6}.muted{color:#5b6472}' +
  'code{background:#eef1f5;padding:0 .2rem;word-break:break-all}' +
  '.items{list-style:none;padding:0;margin:0;display:grid;gap:.5rem}.items li{background:#fff;border:1px solid #d7dce3;border-radius:8px;padding:.6rem .9rem;overflow-wrap:anywhere}' +
  '.items .flag{border-left:4px solid #9a5b00}.badge{display:inline-block;padding:0 .5rem;border-radius:999px;font-size:.85rem;background:#eef1f5;color:#5b6472}' +
  '.badge-flag{background:#fff4e0;color:#9a5b00}.card{background:#fff;border:1px solid #d7dce3;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}' +
  'label{display:block;font-weight:600;margin-bottom:.25rem}input{font:inherit;width:100%;box-sizing:border-box;padding:.5rem .6rem;border:1px solid #8a93a1;border-radius:6px}' +
  'button,.button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #1f5fd6;background:#1f5fd6;color:#fff;cursor:pointer;margin-top:.75rem;text-decoration:none;display:inline-block}' +
  '.secondary{background:#fff;color:#1f5fd6}.error{background:#fdecea;color:#8f1c13;padding:.6rem .9rem;border-radius:6px}' +
  ':focus-visible{outline:3px solid #f0b400;outline-offset:2px}.brand{font-weight:700;color:#14213d;margin:0 0 1rem}';

/**
 * A sign-in page (the account page, failures, the hand-off to the IdP). `refreshTo` sends the
 * browser on by `<meta http-equiv="refresh">`: a navigation that is not the form submission, so
 * CSP `form-action 'self'` does not apply to the IdP's redirects that follow.
 */
export function page(res: Response, status: number, title: string, body: string, opts: { refreshTo?: string } = {}): void {
  const refresh = opts.refreshTo ? `<meta http-equiv="refresh" content="0;url=${escapeHtml(opts.refreshTo)}">` : '';
  res
    .status(status)
    .type('html')
    .setHeader('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>` +
        `<link rel="icon" href="/admin/assets/favicon.svg" type="image/svg+xml">${refresh}<style>${STYLE}</style></head><body><p class="brand">orgsync</p>${body}</body></html>`,
    );
}

/** Starts a fresh session (new id: no fixation) for the signed-in user. */
export async function startSession(req: Request, values: { userId: string; connectionId: string }): Promise<void> {
  await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err as Error) : resolve())));
  req.session.userId = values.userId;
  req.session.connectionId = values.connectionId;
  await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err as Error) : resolve())));
}
