import { invalidFilter } from '../errors.js';

export type Token =
  | { t: '(' | ')' | '[' | ']'; pos: number }
  | { t: 'string'; value: string; pos: number }
  | { t: 'word'; value: string; pos: number };

export const MAX_FILTER_LENGTH = 2000;

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const PUNCT = new Set(['(', ')', '[', ']']);

/**
 * One left-to-right pass over the filter, each character looked at a bounded number of times: no
 * regular expressions, so no backtracking whatever the input (an unterminated string of backslashes
 * fails as fast as any other input).
 */
export function tokenize(input: string): Token[] {
  if (input.length > MAX_FILTER_LENGTH) throw invalidFilter(`Filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  const tokens: Token[] = [];
  let i = 0;
  const n = input.length;
  while (i < n) {
    const code = input.charCodeAt(i);
    if (isSpace(code)) {
      i++;
      continue;
    }
    const ch = input[i]!;
    if (PUNCT.has(ch)) {
      tokens.push({ t: ch as '(' | ')' | '[' | ']', pos: i });
      i++;
      continue;
    }
    if (ch === '"') {
      const start = i;
      i++;
      let closed = false;
      while (i < n) {
        const c = input[i];
        if (c === '\\') i += 2;
        else if (c === '"') {
          closed = true;
          i++;
          break;
        } else i++;
      }
      if (!closed) throw invalidFilter(`Unterminated string starting at position ${start}.`);
      tokens.push({ t: 'string', value: decodeString(input.slice(start, i), start), pos: start });
      continue;
    }
    const start = i;
    while (i < n && !isSpace(input.charCodeAt(i)) && !PUNCT.has(input[i]!) && input[i] !== '"') i++;
    tokens.push({ t: 'word', value: input.slice(start, i), pos: start });
  }
  return tokens;
}

/** JSON string rules (RFC 7644 uses JSON string literals); JSON.parse is linear. */
function decodeString(literal: string, pos: number): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    throw invalidFilter(`Invalid string literal at position ${pos}.`);
  }
}
