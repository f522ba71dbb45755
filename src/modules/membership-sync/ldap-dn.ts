/**
 * LDAP distinguished names as IdPs send them in group attributes (`memberOf`, `isMemberOf`):
 * `CN=Admins,OU=Groups,DC=acme,DC=com`. RFC 4514 with the leniency real directories need: spaces
 * around `=`, `,` and `+`, escaped specials (`\,`, `\+`, `\"`, `\\`, …), hex escapes of UTF-8 bytes
 * (`\C3\A9`), quoted values (RFC 1779), `#` hex values kept as they are, attribute types in any case.
 * One pass over the string: linear whatever the input.
 */

export interface Ava {
  /** Lower-cased keyword (`cn`) or numeric OID (`2.5.4.3`). */
  type: string;
  /** Unescaped value, original case. */
  value: string;
}
export type Rdn = Ava[];

const TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)$/;
const MAX_LENGTH = 4096;
const SPACE = 32;
const EQUALS = 61;
const COMMA = 44;
const PLUS = 43;
const BACKSLASH = 92;
const QUOTE = 34;
const HASH = 35;
/** Characters that may follow a backslash as themselves. */
const SPECIAL = new Set([...' "#+,;<=>\\'].map((c) => c.charCodeAt(0)));

const hexValue = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);

/** The RDNs of `input`, first (most specific) first; null when it is not a DN. */
export function parseDn(input: string): Rdn[] | null {
  const n = input.length;
  if (n === 0 || n > MAX_LENGTH || input.indexOf('=') < 0) return null;
  const rdns: Rdn[] = [];
  let rdn: Rdn = [];
  let i = 0;
  for (;;) {
    while (i < n && input.charCodeAt(i) === SPACE) i++;
    const typeStart = i;
    let c = -1;
    while (i < n && (c = input.charCodeAt(i)) !== EQUALS && c !== COMMA && c !== PLUS) i++;
    if (i >= n || c !== EQUALS) return null;
    let typeEnd = i;
    while (typeEnd > typeStart && input.charCodeAt(typeEnd - 1) === SPACE) typeEnd--;
    const type = input.slice(typeStart, typeEnd);
    if (!TYPE.test(type)) return null;
    i++;
    while (i < n && input.charCodeAt(i) === SPACE) i++;
    const read = readValue(input, i);
    if (!read) return null;
    rdn.push({ type: type.toLowerCase(), value: read[0] });
    i = read[1];
    while (i < n && input.charCodeAt(i) === SPACE) i++;
    if (i >= n) break;
    c = input.charCodeAt(i++);
    if (c === PLUS) continue;
    if (c !== COMMA) return null;
    rdns.push(rdn);
    rdn = [];
  }
  rdns.push(rdn);
  return rdns;
}

/** One attribute value from `start`: the unescaped value and where it ends; null if malformed or empty. */
function readValue(input: string, start: number): [string, number] | null {
  const n = input.length;
  let i = start;
  if (input.charCodeAt(i) === HASH) {
    i++;
    while (i < n && hexValue(input.charCodeAt(i)) >= 0) i++;
    return i - start > 1 && (i - start - 1) % 2 === 0 ? [input.slice(start, i).toLowerCase(), i] : null;
  }
  if (input.charCodeAt(i) === QUOTE) {
    i++;
    let out = '';
    while (i < n && input.charCodeAt(i) !== QUOTE) {
      if (input.charCodeAt(i) === BACKSLASH && i + 1 < n) i++;
      out += input[i];
      i++;
    }
    return i < n ? [out, i + 1] : null;
  }
  // Plain runs are copied as they are; runs of hex escapes are UTF-8 bytes, decoded together.
  // Unescaped trailing spaces are not part of the value; escaped ones are: `keep` is where it ends.
  let out = '';
  let keep = 0;
  let bytes: number[] | null = null;
  while (i < n) {
    const c = input.charCodeAt(i);
    if (c === COMMA || c === PLUS) break;
    if (c === BACKSLASH) {
      const hi = i + 1 < n ? hexValue(input.charCodeAt(i + 1)) : -1;
      const lo = i + 2 < n ? hexValue(input.charCodeAt(i + 2)) : -1;
      if (hi >= 0 && lo >= 0) {
        (bytes ??= []).push(hi * 16 + lo);
        i += 3;
        continue;
      }
      if (i + 1 >= n || !SPECIAL.has(input.charCodeAt(i + 1))) return null;
      if (bytes) out += Buffer.from(bytes).toString('utf8');
      bytes = null;
      out += input[i + 1];
      keep = out.length;
      i += 2;
      continue;
    }
    if (bytes) {
      out += Buffer.from(bytes).toString('utf8');
      keep = out.length;
      bytes = null;
    }
    let j = i;
    for (let d = c; j < n && d !== COMMA && d !== PLUS && d !== BACKSLASH; d = input.charCodeAt(++j));
    let last = j;
    while (last > i && input.charCodeAt(last - 1) === SPACE) last--;
    if (last > i) keep = out.length + (last - i);
    out += input.slice(i, j);
    i = j;
  }
  if (bytes) {
    out += Buffer.from(bytes).toString('utf8');
    keep = out.length;
  }
  return keep > 0 ? [out.slice(0, keep), i] : null;
}

const NEEDS_ESCAPE = /[\\,+"<>;=]|^[ #]| $/;
const escapeValue = (v: string): string =>
  NEEDS_ESCAPE.test(v) ? v.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, '\\ ') : v;

/** One spelling per DN: types lower-cased, values unescaped then minimally escaped, multi-valued RDNs sorted. Case of values is the caller's concern. */
export function canonicalDn(rdns: Rdn[]): string {
  return rdns
    .map((rdn) =>
      rdn
        .map((a) => `${a.type}=${escapeValue(a.value)}`)
        .sort()
        .join('+'),
    )
    .join(',');
}

const CN_TYPES = new Set(['cn', '2.5.4.3']);

/** The common name of the first RDN (`Admins` in `CN=Admins,OU=Groups,…`), or null if it has none. */
export function firstCn(rdns: Rdn[]): string | null {
  return rdns[0]?.find((a) => CN_TYPES.has(a.type))?.value ?? null;
}

/**
 * Whether a value reads as a group's DN: at least two RDNs and a CN first. A bare `a=b` is more
 * likely a name with an equals sign in it than a DN.
 */
export function looksLikeGroupDn(value: string): boolean {
  const rdns = parseDn(value);
  return rdns !== null && rdns.length >= 2 && firstCn(rdns) !== null;
}
