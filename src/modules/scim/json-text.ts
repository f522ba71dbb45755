/**
 * A JSON value that is already serialised. List pages render each stored resource as text (the
 * stored `data` column spliced between its id and meta) instead of parsing it into objects and
 * serialising them again: for a page of 100 users that was most of the request's CPU time.
 *
 * `toJSON` keeps any structure holding one correct under plain `JSON.stringify` (at the cost the
 * splice avoids); `responseText` writes the text as it is.
 */
export class JsonText {
  constructor(readonly text: string) {}

  toJSON(): unknown {
    return JSON.parse(this.text) as unknown;
  }
}

/**
 * The response body as JSON text. A list response's `Resources` go last, their texts spliced in
 * (a ListResponse has them last already, so the bytes are those `JSON.stringify` would write).
 */
export function responseText(body: unknown): string {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray((body as { Resources?: unknown }).Resources)) return JSON.stringify(body);
  const { Resources: resources, ...rest } = body as { Resources: unknown[] };
  const head = JSON.stringify(rest);
  let out = `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"Resources":[`;
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i];
    if (i > 0) out += ',';
    out += r instanceof JsonText ? r.text : (JSON.stringify(r) ?? 'null');
  }
  return `${out}]}`;
}
