import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certificateSerial, generateSigningKey } from '../../src/demo/keys.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Every file reachable through static imports (`import … from`, `export … from`) from `entry`, and
 * through `await import('./…')` of the files in `dynamicIn` (loaded whenever that file runs on).
 */
function staticImports(entry: string, dynamicIn: readonly string[] = [], seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  const source = readFileSync(entry, 'utf8');
  const follow = (spec: string) => staticImports(join(dirname(entry), spec.replace(/\.js$/, '.ts')), dynamicIn, seen);
  for (const m of source.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gm)) {
    if (/^import\s+type\s/.test(m[0]) || /^export\s+type\s/.test(m[0])) continue;
    follow(m[1]!);
  }
  if (dynamicIn.includes(entry.slice(ROOT.length + 1))) for (const m of source.matchAll(/await import\('(\.[^']+)'\)/g)) follow(m[1]!);
  return seen;
}

describe('the demo stays out of the product', () => {
  it('npm start (src/main.ts) and the app never import src/demo', () => {
    for (const entry of ['src/main.ts', 'src/app.ts', 'src/server.ts']) {
      // src/main.ts imports the server once the configuration is read, on every start.
      const files = [...staticImports(join(ROOT, entry), ['src/main.ts'])].map((f) => f.slice(ROOT.length + 1));
      expect(files.length).toBeGreaterThan(entry === 'src/main.ts' ? 20 : 10);
      expect(files.filter((f) => f.startsWith('src/demo/'))).toEqual([]);
    }
  });

  it('the CLI loads the demo only when `orgsync demo` runs', () => {
    const files = [...staticImports(join(ROOT, 'src/cli.ts'))].map((f) => f.slice(ROOT.length + 1));
    expect(files.filter((f) => f.startsWith('src/demo/'))).toEqual([]);
    expect(readFileSync(join(ROOT, 'src/cli.ts'), 'utf8')).toContain("await import('./demo/command.js')");
  });
});

describe('the demo IdP signing certificate', () => {
  it('has a serial that is a positive, minimally encoded DER integer whatever the random bytes', () => {
    for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      const serial = certificateSerial(Buffer.from([first, 0x00, 0x12, 0x34]));
      expect(serial[0]).toBeGreaterThanOrEqual(0x01);
      expect(serial[0]).toBeLessThanOrEqual(0x7f);
      expect(serial.subarray(1)).toEqual(Buffer.from([0x00, 0x12, 0x34]));
    }
  });

  it('is a fresh self-signed X.509 certificate for the generated key, valid now', () => {
    const a = generateSigningKey();
    const b = generateSigningKey();
    expect(a.key).not.toBe(b.key);
    const cert = new X509Certificate(a.cert);
    expect(cert.subject).toContain('for demonstration only');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(createPublicKey(a.key))).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(a.key))).toBe(true);
    expect(new Date(cert.validFrom).getTime()).toBeLessThan(Date.now());
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now() + 24 * 3600_000);
  });
});
