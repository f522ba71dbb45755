import { expect } from 'vitest';
import { generateRsaKeyPair, type KeyPairSource } from '../../src/modules/connections/sp-keys.js';

type KeyPair = Awaited<ReturnType<KeyPairSource>>;

/**
 * RSA key pairs for the apps tests start in this worker process: never the same pair twice within
 * one test file, and the same pairs again in the next file. Each test file has its own database and
 * servers, so a pair seen again in another file meets nothing of the first; within a file, every
 * connection and every rotation still gets a key of its own. Made at random, as the app makes them;
 * about 0.2 s of CPU each, some 430 per run when every app made its own.
 */
const made = new Map<number, Promise<KeyPair>[]>();
let file: string | undefined;
let handedOut = 0;

/** The test file running, none outside vitest (a bench/ script starting apps with these helpers). */
function currentTestFile(): string | undefined {
  try {
    return expect.getState().testPath;
  } catch {
    return undefined;
  }
}

export const testKeyPairs: KeyPairSource = (bits) => {
  const current = currentTestFile();
  if (!current) return generateRsaKeyPair(bits);
  if (current !== file) {
    file = current;
    handedOut = 0;
  }
  const i = handedOut++;
  const pairs = made.get(bits) ?? [];
  made.set(bits, pairs);
  return (pairs[i] ??= generateRsaKeyPair(bits));
};
