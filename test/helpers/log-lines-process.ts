/**
 * A process logging to standard output through the server's logger (`createLogger`, no destination
 * given), for test/unit/logger-blocks.test.ts. Counts the writes to fd 1 and prints
 * `{"writes":n}` on stderr at the end. Modes (argv[2]):
 * - `burst`: 200 lines in one turn of the event loop, then waits 400 ms and exits.
 * - `trickle`: 40 lines, one every 5 ms, then waits 400 ms and exits.
 * - `quiet`: one line, then stays up until killed (prints the count when the line went out).
 * - `exit`: 5 lines, then `process.exit(0)` at once.
 * Run with `node --import tsx`.
 */
import fs from 'node:fs';
import { createLogger } from '../../src/platform/logger.js';

let writes = 0;
const write = fs.write;
(fs as { write: unknown }).write = (...args: unknown[]) => {
  if (args[0] === 1) writes++;
  return (write as (...a: unknown[]) => unknown)(...args);
};
const report = () => process.stderr.write(`${JSON.stringify({ writes })}\n`);
const logger = createLogger('info');
const line = (i: number) => logger.info({ method: 'GET', path: '/scim/v2/d/Users', status: 200, ms: 0.4, i }, 'request');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const mode = process.argv[2];
if (mode === 'burst') {
  for (let i = 0; i < 200; i++) line(i);
  await sleep(400);
  report();
} else if (mode === 'trickle') {
  for (let i = 0; i < 40; i++) {
    line(i);
    await sleep(5);
  }
  await sleep(400);
  report();
} else if (mode === 'quiet') {
  line(0);
  setInterval(() => writes > 0 && report(), 20);
} else if (mode === 'exit') {
  for (let i = 0; i < 5; i++) line(i);
  process.exit(0);
} else {
  throw new Error(`unknown mode ${mode}`);
}
