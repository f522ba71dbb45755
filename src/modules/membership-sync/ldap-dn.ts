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
const HEX = /^[0-9A-Fa-f]{2}$/;
const SPECIAL = new Set([' ', '"', '#', '+', ',', ';', '<', '=', '>', '\\']);
const MAX_LENGTH = 4096;

/** The RDNs of `input`, first (most specific) first; null when it is not a DN. */
export function parseDn(input: string): Rdn[] | null {
  if (input.length === 0 || input.length > MAX_LENGTH || !input.includes('=')) return null;
  const rdns: Rdn[] = [];
  let rdn: Rdn = [];
  let i = 0;
  const n = input.length;
  const skipSpaces = () => {
    while (i < n && input[i] === ' ') i++;
  };
  for (;;) {
    skipSpaces();
    const typeStart = i;
    while (i < n && input[i] !== '=' && input[i] !== ',' && input[i] !== '+') i++;
    if (i >= n || input[i] !== '=') return null;
    const type = input.slice(typeStart, i).trim();
    if (!TYPE.test(type)) return null;
    i++; // '='
    skipSpaces();
    const value = readValue();
    if (value === null) return null;
    rdn.push({ type: type.toLowerCase(), value });
    skipSpaces();
    if (i >= n) break;
    if (input[i] === '+') {
      i++;
      continue;
    }
    if (input[i] !== ',') return null;
    i++;
    rdns.push(rdn);
    rdn = [];
  }
  rdns.push(rdn);
  return rdns;

  function readValue(): string | null {
    if (input[i] === '#') {
      const start = i;
      i++;
      while (i < n && /[0-9A-Fa-f]/.test(input[i]!)) i++;
      return i - start > 1 && (i - start - 1) % 2 === 0 ? input.slice(start, i).toLowerCase() : null;
    }
    if (input[i] === '"') {
      i++;
      let out = '';
      while (i < n && input[i] !== '"') {
        if (input[i] === '\\' && i + 1 < n) i++;
        out += input[i];
        i++;
      }
      if (i >= n) return null;
      i++;
      return out;
    }
    const bytes: number[] = [];
    // Unescaped trailing spaces are not part of the value; escaped ones are.
    let keep = 0;
    while (i < n && input[i] !== ',' && input[i] !== '+') {
      const c = input[i]!;
      if (c === '\\') {
        const pair = input.slice(i + 1, i + 3);
        if (HEX.test(pair)) {
          bytes.push(parseInt(pair, 16));
          i += 3;
        } else if (i + 1 < n && SPECIAL.has(input[i + 1]!)) {
          bytes.push(input.charCodeAt(i + 1));
          i += 2;
        } else return null;
        keep = bytes.length;
        continue;
      }
      const ch = String.fromCodePoint(input.codePointAt(i)!);
      for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
      if (ch !== ' ') keep = bytes.length;
      i += ch.length;
    }
    const value = Buffer.from(bytes.slice(0, keep)).toString('utf8');
    return value.length ? value : null;
  }
}

const escapeValue = (v: string): string => v.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, '\\ ');

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
