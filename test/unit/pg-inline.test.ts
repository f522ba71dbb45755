import { describe, expect, it } from 'vitest';
import { inlineSql } from '../../src/platform/pg-transactions.js';

describe('inlineSql: values written into PostgreSQL statements as literals', () => {
  it('quotes strings the standard way, writes numbers, booleans, NULL, and arrays as one array literal', () => {
    expect(inlineSql('SELECT ?, ?, ?, ?, ?, ?::text[]', ["it's", 'a\\b', 42, true, null, ['x', "y'"]])).toBe(`SELECT 'it''s',  E'a\\\\b', 42, TRUE, NULL, '{"x","y''"}'::text[]`);
    expect(inlineSql('SELECT ?::text[], ?::int[], ?::boolean[], ?::text[]', [['a"b', 'c\\d', null, 'NULL', ''], [1, -2], [true, false], []])).toBe(
      `SELECT  E'{"a\\\\"b","c\\\\\\\\d",NULL,"NULL",""}'::text[], '{1,-2}'::int[], '{true,false}'::boolean[], '{}'::text[]`,
    );
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
