/**
 * `npm run bench`: runs every benchmark under bench/ in turn. Each one measures a bare express
 * JSON route in the same run and prints its results as ratios against it.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const only = process.argv.slice(2);
const dir = import.meta.dirname;
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

if (scripts.length === 0) console.log('no benchmarks matched');
for (const file of scripts) {
  console.log(`\n## ${file}`);
  const mod = (await import(join(dir, file))) as { run: () => Promise<void> };
  await mod.run();
}
