import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/platform/ids.js';

describe('uuidv7', () => {
  it('is a version 7 UUID whose first 48 bits are the milliseconds, distinct and in creation order', () => {
    // Ids are monotonic per process, and other tests of this worker may have made some: start just
    // after the latest one made so far.
    const ms = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    const start = Math.max(Date.now(), ms(uuidv7())) + 10;
    const ids: string[] = [];
    // 5,000 ids over three milliseconds (most share one), then a later one and one from a clock gone back.
    for (let i = 0; i < 5000; i++) ids.push(uuidv7(start + Math.floor(i / 2000)));
    ids.push(uuidv7(start + 1000), uuidv7(start));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ms(ids[0]!)).toBe(start);
    expect(ms(ids[4999]!)).toBe(start + 2);
    expect(ms(ids[5000]!)).toBe(start + 1000);
    // A clock that goes back does not break the order: the id stays after the last one.
    expect(ms(ids[5001]!)).toBe(start + 1000);
  });

  it('draws its random bits afresh: no two ids share them', () => {
    const tails = Array.from({ length: 2000 }, () => uuidv7().slice(19));
    expect(new Set(tails).size).toBe(tails.length);
  });
});
