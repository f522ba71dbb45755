/**
 * Where a browser may be sent after signing in: a page of this site, nothing else.
 *
 * Checks that run on the raw text can be walked around by whatever the URL parser does afterwards
 * (`/.//evil.example` normalises to `//evil.example`, a tab inside `/\t/evil.example` is dropped,
 * `%2e` counts as a dot). So the value is first refused outright when it holds anything a browser
 * rewrites (backslashes, control characters, spaces, non-ASCII, percent-encoded dots, slashes,
 * backslashes or control characters), then resolved against PUBLIC_URL with the WHATWG parser, and
 * only the normalised path, query and fragment are ever emitted, after checking that they resolve
 * back to the same place on the same origin.
 */
const MAX_LENGTH = 1024;

// Printable ASCII only: no controls, spaces, DEL, backslashes, or anything a browser maps to ASCII.
const FORBIDDEN_RAW = /[^\x21-\x5b\x5d-\x7e]/;
// Encoded forms that decode (here, in a proxy, or in the app behind) into a path separator, a dot
// segment, a backslash or a control character, and encoded percent signs that decode into those.
const FORBIDDEN_ENCODED = /%(?:2e|2f|5c|25|[01][0-9a-f]|7f)/i;

export function safeReturnTo(value: unknown, publicUrl: string): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return null;
  if (!value.startsWith('/') || value.startsWith('//')) return null;
  if (FORBIDDEN_RAW.test(value) || FORBIDDEN_ENCODED.test(value)) return null;
  let base: URL;
  let resolved: URL;
  try {
    base = new URL(publicUrl);
    resolved = new URL(value, base.origin);
  } catch {
    return null;
  }
  if (resolved.origin !== base.origin || resolved.username || resolved.password) return null;
  const target = `${resolved.pathname}${resolved.search}${resolved.hash}`;
  // After normalisation: still one leading slash, and resolving the emitted text lands on the same URL.
  if (!target.startsWith('/') || target.startsWith('//') || target.includes('\\')) return null;
  if (new URL(target, base.origin).href !== resolved.href) return null;
  return target;
}
