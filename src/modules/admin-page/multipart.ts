import express, { type RequestHandler } from 'express';
import { AppError } from '../../platform/errors.js';

/** A service-account key is about 2.5 KiB; the whole form stays far below this. */
const LIMIT = 64 * 1024;
const MAX_FIELDS = 50;

const badForm = () => new AppError('invalid_body', 400, 'The form could not be read. Reload the page and try again.');

/**
 * Forms with a file field (`enctype="multipart/form-data"`) become a plain body of strings, like
 * url-encoded forms, before the CSRF guard reads its token: a file's text under its field name.
 * Node's own fetch `Response.formData()` parses it, so no parser library is needed; the raw body is
 * capped at 64 KiB and an empty file field (none chosen) counts as not sent.
 */
export function multipartForms(): RequestHandler[] {
  return [
    express.raw({ type: 'multipart/form-data', limit: LIMIT }),
    async (req, _res, next) => {
      if (!req.is('multipart/form-data') || !Buffer.isBuffer(req.body)) return next();
      try {
        const form = await new Response(new Uint8Array(req.body), { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
        const body: Record<string, string> = {};
        let n = 0;
        for (const [name, value] of form) {
          if (++n > MAX_FIELDS) throw badForm();
          if (Object.hasOwn(body, name) || name === '__proto__') continue;
          if (typeof value === 'string') body[name] = value;
          else if (value.size > 0) body[name] = await value.text();
        }
        req.body = body;
        next();
      } catch (err) {
        next(err instanceof AppError ? err : badForm());
      }
    },
  ];
}
