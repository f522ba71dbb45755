/**
 * A short-lived, in-process memo of token hash → directory, so the SCIM hot path does not read
 * `directory_tokens` on every request. Entries live `ttlMs` (5 s by default): a token rotated or
 * expired through another instance stops working here within that time; rotations through this
 * instance drop the entries at once. Expiry times are cached too and checked on every use, so a
 * grace period ends on time. Unknown tokens are never cached (no memory growth from guessing).
 */
export interface CachedToken {
  directoryId: string;
  connectionId: string;
  expiresAt: string | null;
}

export class TokenCache {
  private readonly entries = new Map<string, { value: CachedToken; until: number }>();
  constructor(private readonly ttlMs = 5_000, private readonly maxEntries = 10_000) {}

  get(tokenHash: string, nowMs: number): CachedToken | undefined {
    const hit = this.entries.get(tokenHash);
    if (!hit) return undefined;
    if (hit.until <= nowMs) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    return hit.value;
  }

  set(tokenHash: string, value: CachedToken, nowMs: number): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(tokenHash, { value, until: nowMs + this.ttlMs });
  }

  forgetDirectory(directoryId: string): void {
    for (const [k, v] of this.entries) if (v.value.directoryId === directoryId) this.entries.delete(k);
  }
}
