import { escapeLiteral } from 'pg';
import { describe, expect, it } from 'vitest';
import { inlineSql, pgArrayText } from '../../src/platform/pg-transactions.js';

describe('inlineSql: values written into PostgreSQL statements as literals', () => {
  it('quotes strings the standard way, writes numbers, booleans, NULL, and arrays as one array literal', () => {
    expect(inlineSql('SELECT ?, ?, ?, ?, ?, ?::text[]', ["it's", 'a\\b', 42, true, null, ['x', "y'"]])).toBe(`SELECT 'it''s',  E'a\\\\b', 42, TRUE, NULL, '{"x","y''"}'::text[]`);
    expect(inlineSql('SELECT ?::text[], ?::int[], ?::boolean[], ?::text[]', [['a"b', 'c\\d', null, 'NULL', ''], [1, -2], [true, false], []])).toBe(
      `SELECT  E'{"a\\\\"b","c\\\\\\\\d",NULL,"NULL",""}'::text[], '{1,-2}'::int[], '{true,false}'::boolean[], '{}'::text[]`,
    );
  });

  it('quotes every string exactly as the driver\'s escapeLiteral does', () => {
    const alphabet = ["'", '\\', '"', 'a', ' ', 'é', '😀', '{', ',', '\n', '?', 'E'];
    const strings = ['', "'", '\\', "''", '\\\\', "a'b\\c", 'plain-uuid-0190-7000'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 500; i++) strings.push(Array.from({ length: next() % 12 }, () => alphabet[next() % alphabet.length]).join(''));
    for (const text of strings) expect(inlineSql('SELECT ?', [text]), JSON.stringify(text)).toBe(`SELECT ${escapeLiteral(text)}`);
  });

  it('writes array elements as the array input function reads them, escaping only where needed', () => {
    const alphabet = ['"', '\\', "'", 'a', ' ', 'é', '😀', '{', '}', ',', '\n', '0'];
    const values: unknown[] = ['', '"', '\\', 'NULL', '0190a7c2-3f4e-7000-8000-000000000001', null, true, false, 7, -1.5];
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 500; i++) values.push(Array.from({ length: next() % 10 }, () => alphabet[next() % alphabet.length]).join(''));
    // The definition, element by element: strings double-quoted with `"` and `\` escaped.
    const element = (v: unknown) => (typeof v === 'string' ? `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"` : v === null ? 'NULL' : String(v));
    expect(pgArrayText(values)).toBe(`{${values.map(element).join(',')}}`);
    expect(pgArrayText([])).toBe('{}');
  });

  it('leaves the statement to bindings when a value cannot be a literal', () => {
    expect(inlineSql('SELECT ?', ['a\0b'])).toBeUndefined();
    expect(inlineSql('SELECT ?', [Number.NaN])).toBeUndefined();
    expect(inlineSql('SELECT ?', [{ an: 'object' }])).toBeUndefined();
    expect(inlineSql('SELECT ?::text[]', [['ok', 'n\0ul']])).toBeUndefined();
    expect(inlineSql('SELECT ?::text[]', [['ok', ['nested']]])).toBeUndefined();
    expect(inlineSql('SELECT ?::int[]', [[1, Number.POSITIVE_INFINITY]])).toBeUndefined();
  });

  it('refuses a statement whose placeholders and values do not match', () => {
    expect(() => inlineSql('SELECT ?, ?', ['one'])).toThrow(/2 placeholders for 1 values/);
  });
});
