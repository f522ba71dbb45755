import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ROOT, run } from '../helpers/process.js';

/**
 * The profile aids under bench/ start apps with the test helpers outside vitest, from a shell. They
 * are not benchmarks (nothing here is timed): this only checks that one still runs to its end.
 */
describe('bench profile aids', () => {
  it('profile-create lists the statements of a SCIM create and times a few, outside vitest', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/profile-create.ts')], { PROFILE_CREATES: '3', VITEST: '' });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^one create: \d+ statements$/m);
    expect(r.stdout).toMatch(/^3 sequential creates: [\d.]+ ms each/m);
    expect(r.stdout).toMatch(/^userName eq lookup: [\d.]+ ms each/m);
  }, 60_000);
});
