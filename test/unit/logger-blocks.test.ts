import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOG_FLUSH_MS } from '../../src/platform/logger.js';
import { ROOT, stopProcess } from '../helpers/process.js';

const SCRIPT = join(ROOT, 'test/helpers/log-lines-process.ts');

/** Runs the logging process; resolves when it exits, or once `until` holds of what it printed. */
function logLines(mode: string, until?: (out: string, err: string) => boolean) {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, mode], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const started = Date.now();
  return new Promise<{ lines: Array<{ i: number; msg: string }>; writes: number; ms: number; code: number | null }>((resolve) => {
    const done = (code: number | null) => {
      const last = err.trim().split('\n').pop();
      const writes = last ? (JSON.parse(last) as { writes: number }).writes : -1;
      const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { i: number; msg: string });
      resolve({ lines, writes, ms: Date.now() - started, code });
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (until?.(out, err)) void stopProcess(child).then(() => done(null));
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      if (!until) done(code);
    });
  });
}

describe('the server logger writes standard output in blocks', () => {
  it('a burst of lines goes out in a few writes, every line whole and in order', async () => {
    const r = await logLines('burst');
    expect(r.code).toBe(0);
    expect(r.lines.map((l) => l.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // About 130 bytes a line: 4 KB blocks make 7 or so writes, pino's default destination one a line.
    expect(r.writes).toBeGreaterThan(0);
    expect(r.writes).toBeLessThan(15);
  });

  it('lines arriving one at a time are gathered, not written one by one', async () => {
    const r = await logLines('trickle');
    expect(r.lines).toHaveLength(40);
    expect(r.writes).toBeGreaterThan(0);
    expect(r.writes).toBeLessThan(20);
  });

  it("a quiet server's line still shows within the flush delay, while the process runs", async () => {
    const r = await logLines('quiet', (out) => out.includes('"msg":"request"'));
    expect(r.lines).toHaveLength(1);
    expect(r.code).toBeNull(); // stopped by the test: the line came out while it ran
    expect(r.ms).toBeLessThan(5_000 + LOG_FLUSH_MS);
  });

  it('lines still waiting when the process exits are written', async () => {
    const r = await logLines('exit');
    expect(r.code).toBe(0);
    expect(r.lines.map((l) => l.i)).toEqual([0, 1, 2, 3, 4]);
  });
});
