import { describe, expect, it } from 'vitest';
import { parseFilter } from '../../src/modules/scim/filter/parser.js';
import { parsePatchPath } from '../../src/modules/scim/patch-path.js';
import { isAppError } from '../../src/platform/errors.js';

const scimTypeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (isAppError(err)) return err.options.scimType;
    throw err;
  }
  return undefined;
};

const timed = (fn: () => unknown): number => {
  const t0 = performance.now();
  try {
    fn();
  } catch {
    // only the time matters here
  }
  return performance.now() - t0;
};

describe('SCIM filter parser (RFC 7644 §3.4.2.2)', () => {
  it('gives and precedence over or, and honours parentheses and not', () => {
    expect(parseFilter('userName eq "a" or title pr and active eq true')).toMatchObject({
      kind: 'or',
      left: { kind: 'compare', path: { attr: 'userName' }, op: 'eq', value: 'a' },
      right: { kind: 'and', left: { kind: 'present', path: { attr: 'title' } }, right: { kind: 'compare', value: true } },
    });
    expect(parseFilter('(userName eq "a" or title pr) and not (active eq false)')).toMatchObject({
      kind: 'and',
      left: { kind: 'or' },
      right: { kind: 'not', filter: { kind: 'compare', path: { attr: 'active' }, value: false } },
    });
  });

  it('parses value paths, sub-attributes, schema URNs, operators in any case and JSON string escapes', () => {
    expect(parseFilter('emails[type eq "work" and value co "@x"]')).toMatchObject({
      kind: 'valuePath',
      path: { attr: 'emails' },
      filter: { kind: 'and', left: { path: { attr: 'type' } }, right: { op: 'co', value: '@x' } },
    });
    expect(parseFilter('emails[type eq "work"].value EQ "a@b.c"')).toMatchObject({ kind: 'valuePath', filter: { kind: 'and', right: { path: { attr: 'value' }, op: 'eq' } } });
    expect(parseFilter('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m"')).toMatchObject({
      path: { uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', attr: 'manager', sub: 'value' },
    });
    expect(parseFilter('meta.lastModified gt "2026-01-01T00:00:00Z"')).toMatchObject({ path: { attr: 'meta', sub: 'lastModified' }, op: 'gt' });
    expect(parseFilter('displayName eq "say \\"hi\\" \\u00e9"')).toMatchObject({ value: 'say "hi" é' });
    expect(parseFilter('x eq null')).toMatchObject({ value: null });
    expect(parseFilter('x gt 10.5')).toMatchObject({ value: 10.5 });
  });

  it('rejects malformed filters with invalidFilter', () => {
    for (const bad of ['', 'userName', 'userName eq', 'userName xx "a"', 'userName eq "a" and', '(userName eq "a"', 'userName eq "a")', 'emails[type eq "w"', 'a eq bareword', 'emails[x[y eq "1"]]', 'a.b.c eq "1"']) {
      expect(scimTypeOf(() => parseFilter(bad)), bad).toBe('invalidFilter');
    }
  });

  it('rejects prototype-reaching path segments anywhere in a filter', () => {
    for (const bad of ['__proto__.isAdmin eq "x"', 'constructor eq "x"', 'name.prototype pr', 'emails[__proto__ eq "x"]', 'urn:x:__proto__:a eq "1"', 'Constructor pr']) {
      expect(scimTypeOf(() => parseFilter(bad)), bad).toBe('invalidFilter');
    }
  });

  it('rejects filters over 2,000 characters and nesting deeper than it allows', () => {
    expect(scimTypeOf(() => parseFilter(`userName eq "${'a'.repeat(1990)}"`))).toBe('invalidFilter');
    expect(() => parseFilter(`userName eq "${'a'.repeat(1980)}"`)).not.toThrow();
    expect(scimTypeOf(() => parseFilter(`${'('.repeat(600)}a pr${')'.repeat(600)}`))).toBe('invalidFilter');
    expect(scimTypeOf(() => parseFilter(`${'not ('.repeat(300)}a pr${')'.repeat(300)}`))).toBe('invalidFilter');
  });

  it('parses pathological inputs in linear time (no backtracking)', () => {
    const cases = [
      `userName eq "${'\\'.repeat(38)}`,
      `userName eq "${'\\'.repeat(1980)}`,
      `userName eq "${'\\"'.repeat(990)}`,
      'a eq "1" or '.repeat(166) + 'a pr',
      `${'a'.repeat(1999)}`,
      `a eq ${'1'.repeat(1990)}`,
      '['.repeat(2000),
      ' '.repeat(2000),
    ];
    for (const input of cases) expect(timed(() => parseFilter(input)), input.slice(0, 30)).toBeLessThan(50);
  });
});

describe('SCIM PATCH paths', () => {
  it('splits attribute, value filter and sub-attribute', () => {
    expect(parsePatchPath('emails[type eq "work"].value')).toMatchObject({ ref: { attr: 'emails' }, filter: { kind: 'compare' }, filterSub: 'value' });
    expect(parsePatchPath('members[value eq "a]b"]')).toMatchObject({ ref: { attr: 'members' }, filter: { value: 'a]b' }, filterSub: null });
    expect(parsePatchPath('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager')).toMatchObject({ ref: { attr: 'manager' }, filter: null });
  });

  it('rejects prototype-reaching segments with invalidPath', () => {
    for (const bad of ['__proto__', 'name.__proto__', 'constructor.prototype', 'emails[type eq "w"].__proto__', 'emails[constructor eq "x"]']) {
      expect(scimTypeOf(() => parsePatchPath(bad)), bad).toBe('invalidPath');
    }
  });
});
