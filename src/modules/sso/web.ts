import type { Request, Response } from 'express';

export const wantsJson = (req: Request): boolean => {
  const accept = req.headers.accept ?? '';
  return /application\/json/.test(accept) && !/text\/html/.test(accept);
};

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function page(res: Response, status: number, title: string, body: string): void {
  res
    .status(status)
    .type('html')
    .setHeader('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>` +
        `<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}table{border-collapse:collapse}td,th{padding:.2rem .8rem .2rem 0;text-align:left}.muted{color:#666}code{background:#f3f3f3;padding:0 .2rem}</style>` +
        `</head><body>${body}</body></html>`,
    );
}

/** Starts a fresh session (new id: no fixation) for the signed-in user. */
export async function startSession(req: Request, values: { userId: string; connectionId: string }): Promise<void> {
  await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err as Error) : resolve())));
  req.session.userId = values.userId;
  req.session.connectionId = values.connectionId;
  await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err as Error) : resolve())));
}
