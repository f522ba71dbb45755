import { randomFillSync } from 'node:crypto';

export interface IdGenerator {
  /** A time-ordered UUID (version 7): sorts by creation, so it doubles as a pagination key. */
  uuid(): string;
}

let lastMs = 0;
let seq = 0;

// Random bytes drawn from a pool refilled 4 KiB at a time: one call into the CSPRNG per 256 ids.
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;
const scratch = Buffer.alloc(16);

function fillRandom(target: Buffer, length: number): void {
  if (poolOffset + length > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  pool.copy(target, 0, poolOffset, poolOffset + length);
  poolOffset += length;
}

export function uuidv7(nowMs: number = Date.now()): string {
  // Monotonic within a process: equal milliseconds bump a 12-bit counter in rand_a.
  if (nowMs <= lastMs) {
    seq = (seq + 1) & 0xfff;
    if (seq === 0) lastMs += 1;
    nowMs = lastMs;
  } else {
    lastMs = nowMs;
    fillRandom(scratch, 2);
    seq = scratch.readUInt16BE(0) & 0x7ff;
  }
  const bytes = scratch;
  fillRandom(bytes, 16);
  bytes.writeUIntBE(nowMs, 0, 6);
  bytes[6] = 0x70 | ((seq >> 8) & 0x0f);
  bytes[7] = seq & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const defaultIds: IdGenerator = { uuid: () => uuidv7() };
