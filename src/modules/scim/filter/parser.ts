import { invalidFilter, isForbiddenSegment } from '../errors.js';
import { COMPARE_OPS, type AttrRef, type CompareOp, type Filter, type FilterValue } from './ast.js';
import { tokenize, type Token } from './tokenizer.js';

/** Nesting deeper than this is refused, so recursion depth stays bounded whatever the input. */
const MAX_DEPTH = 32;
const NAME = /^[A-Za-z$][\w$-]*$/;

/** Parses `[uri:]attr[.sub]`, refusing prototype-reaching segments. Shared with PATCH paths and `attributes`. */
export function parseAttrRef(text: string, fail: (detail: string) => Error = invalidFilter): AttrRef {
  let uri: string | null = null;
  let rest = text;
  if (text.toLowerCase().startsWith('urn:')) {
    const cut = text.lastIndexOf(':');
    uri = text.slice(0, cut);
    rest = text.slice(cut + 1);
    for (const seg of uri.split(/[:.]/)) if (isForbiddenSegment(seg)) throw fail(`Attribute path "${text}" is not allowed.`);
  }
  const parts = rest.split('.');
  for (const p of parts) if (isForbiddenSegment(p)) throw fail(`Attribute path "${text}" is not allowed.`);
  if (parts.length > 2 || parts.some((p) => !NAME.test(p))) throw fail(`Invalid attribute path "${text}".`);
  return { uri, attr: parts[0]!, sub: parts[1] ?? null };
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Filter {
    if (this.tokens.length === 0) throw invalidFilter('Empty filter.');
    const f = this.or(false);
    const extra = this.tokens[this.i];
    if (extra) throw invalidFilter(`Unexpected input at position ${extra.pos}.`);
    return f;
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private keyword(word: string): boolean {
    const t = this.peek();
    return t?.t === 'word' && t.value.toLowerCase() === word;
  }

  private expect(kind: '(' | ')' | '[' | ']'): void {
    const t = this.peek();
    if (t?.t !== kind) throw invalidFilter(`Expected "${kind}"${t ? ` at position ${t.pos}` : ' at end of filter'}.`);
    this.i++;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw invalidFilter('Filter is nested too deeply.');
  }

  private or(inValuePath: boolean): Filter {
    let left = this.and(inValuePath);
    while (this.keyword('or')) {
      this.i++;
      left = { kind: 'or', left, right: this.and(inValuePath) };
    }
    return left;
  }

  private and(inValuePath: boolean): Filter {
    let left = this.unary(inValuePath);
    while (this.keyword('and')) {
      this.i++;
      left = { kind: 'and', left, right: this.unary(inValuePath) };
    }
    return left;
  }

  private unary(inValuePath: boolean): Filter {
    const t = this.peek();
    if (!t) throw invalidFilter('Filter ends too early.');
    if (t.t === 'word' && t.value.toLowerCase() === 'not' && this.tokens[this.i + 1]?.t === '(') {
      this.i++;
      return { kind: 'not', filter: this.group(inValuePath) };
    }
    if (t.t === '(') return this.group(inValuePath);
    if (t.t !== 'word') throw invalidFilter(`Expected an attribute at position ${t.pos}.`);
    this.i++;
    const path = parseAttrRef(t.value);
    if (this.peek()?.t === '[') {
      if (inValuePath || path.sub) throw invalidFilter(`Nested value filter at position ${t.pos}.`);
      this.i++;
      this.enter();
      const inner = this.or(true);
      this.expect(']');
      this.depth--;
      const after = this.peek();
      // `emails[type eq "work"].value eq "x"`: the sub-attribute condition applies to the same element.
      if (after?.t === 'word' && after.value.startsWith('.')) {
        this.i++;
        const sub = parseAttrRef(after.value.slice(1));
        if (sub.uri || sub.sub) throw invalidFilter(`Invalid sub-attribute at position ${after.pos}.`);
        return { kind: 'valuePath', path, filter: { kind: 'and', left: inner, right: this.comparison(sub) } };
      }
      return { kind: 'valuePath', path, filter: inner };
    }
    return this.comparison(path);
  }

  private group(inValuePath: boolean): Filter {
    this.expect('(');
    this.enter();
    const f = this.or(inValuePath);
    this.expect(')');
    this.depth--;
    return f;
  }

  private comparison(path: AttrRef): Filter {
    const opTok = this.peek();
    if (opTok?.t !== 'word') throw invalidFilter(`Expected an operator${opTok ? ` at position ${opTok.pos}` : ' at end of filter'}.`);
    const op = opTok.value.toLowerCase();
    this.i++;
    if (op === 'pr') return { kind: 'present', path };
    if (!COMPARE_OPS.has(op)) throw invalidFilter(`Unknown operator "${opTok.value}" at position ${opTok.pos}.`);
    return { kind: 'compare', path, op: op as CompareOp, value: this.value() };
  }

  private value(): FilterValue {
    const t = this.peek();
    if (!t) throw invalidFilter('Expected a value at end of filter.');
    this.i++;
    if (t.t === 'string') return t.value;
    if (t.t === 'word') {
      const w = t.value.toLowerCase();
      if (w === 'true') return true;
      if (w === 'false') return false;
      if (w === 'null') return null;
      if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t.value)) return Number(t.value);
    }
    throw invalidFilter(`Invalid value at position ${t.pos}.`);
  }
}

/** RFC 7644 §3.4.2.2 filter → AST, in time linear in the filter's length. */
export function parseFilter(input: string): Filter {
  return new Parser(tokenize(input)).parse();
}
