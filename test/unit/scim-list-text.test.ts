import { describe, expect, it } from 'vitest';
import { JsonText, responseText } from '../../src/modules/scim/json-text.js';
import { USER_TYPE } from '../../src/modules/scim/resource-types.js';
import type { AttributeDef } from '../../src/modules/scim/schema/attributes.js';

describe('stored user text splicing (userTextWriter)', () => {
  it('relies on no nested attribute being named like a top-level key it looks for', () => {
    // The writer finds `"active"`, `"id"`, … anywhere in the stored text and takes them for
    // top-level keys: no sub-attribute (nor extension attribute) may carry those names.
    const nested: string[] = [];
    const walk = (defs: AttributeDef[], top: boolean) => {
      for (const d of defs) {
        if (!top) nested.push(d.name);
        if (d.subAttributes) walk(d.subAttributes, false);
      }
    };
    walk(USER_TYPE.schema.attributes, true);
    for (const ext of USER_TYPE.extensions) walk(ext.attributes, false);
    expect(nested.length).toBeGreaterThan(10);
    for (const name of ['active', 'schemas', 'id', 'meta', 'groups', '__proto__']) expect(nested.map((n) => n.toLowerCase())).not.toContain(name.toLowerCase());
    expect(nested.filter((n) => /^\d+$/.test(n))).toEqual([]);
  });
});

describe('responseText', () => {
  it('splices JsonText resources and writes the bytes JSON.stringify writes for the same list', () => {
    const a = { schemas: ['s'], id: 'a', name: { givenName: 'Ä "q" \\' } };
    const b = { id: 'b', active: false };
    const list = { schemas: ['l'], totalResults: 2, startIndex: 1, itemsPerPage: 2, Resources: [new JsonText(JSON.stringify(a)), b] };
    expect(responseText(list)).toBe(JSON.stringify({ ...list, Resources: [a, b] }));
    expect(responseText({ ...list, Resources: [] })).toBe(JSON.stringify({ ...list, Resources: [] }));
    expect(responseText({ Resources: [new JsonText('{"x":1}')] })).toBe('{"Resources":[{"x":1}]}');
  });

  it('writes other bodies as JSON.stringify does, JsonText anywhere included', () => {
    const body = { id: 'x', nested: new JsonText('{"a":[1,2]}'), list: [new JsonText('"s"')] };
    expect(responseText(body)).toBe('{"id":"x","nested":{"a":[1,2]},"list":["s"]}');
    expect(responseText({ Resources: 'not a list' })).toBe('{"Resources":"not a list"}');
    expect(responseText([1, 2])).toBe('[1,2]');
  });
});
