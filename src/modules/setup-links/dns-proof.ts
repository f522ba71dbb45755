import { Resolver } from 'node:dns/promises';

/** The record a domain owner publishes to prove control: `_orgsync-challenge.<domain> TXT <value>`. */
export const challengeRecordName = (domain: string): string => `_orgsync-challenge.${domain}`;

export type DnsCheck =
  | { kind: 'found' }
  | { kind: 'not_found'; seen: string[] }
  | { kind: 'lookup_failed'; code: string };

const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

/**
 * Looks the challenge TXT record up through the configured resolvers (DNS_RESOLVERS) or the
 * system's. A fresh Resolver per check: no cache of ours stands between a fix and a re-check.
 */
export class DnsProver {
  constructor(private readonly servers: string[], private readonly timeoutMs = 3000) {}

  async check(domain: string, expected: string): Promise<DnsCheck> {
    const resolver = new Resolver({ timeout: this.timeoutMs, tries: 2 });
    if (this.servers.length) resolver.setServers(this.servers);
    try {
      // A TXT record may be split into several character-strings; they form one value.
      const records = (await resolver.resolveTxt(challengeRecordName(domain))).map((chunks) => chunks.join(''));
      if (records.some((r) => r.trim() === expected)) return { kind: 'found' };
      return { kind: 'not_found', seen: records.slice(0, 5).map((r) => r.slice(0, 200)) };
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'EUNKNOWN';
      if (NOT_FOUND_CODES.has(code)) return { kind: 'not_found', seen: [] };
      return { kind: 'lookup_failed', code };
    }
  }
}
