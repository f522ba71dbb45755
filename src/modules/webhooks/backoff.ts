export const FIRST_RETRY_MS = 10_000;
export const MAX_RETRY_DELAY_MS = 3_600_000;
/** A delivery still failing this long after its first attempt is given up and its endpoint disabled. */
export const GIVE_UP_AFTER_MS = 24 * 3_600_000;

/**
 * Delay before retry number `failures` (1 = after the first failed attempt): exponential from 10 s,
 * capped at one hour, with jitter in [50%, 100%] so endpoints recovering from an outage are not hit
 * by every instance at once. About 30 attempts fit in the 24 hours.
 */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1), MAX_RETRY_DELAY_MS);
  return Math.round(base * (0.5 + 0.5 * random()));
}
