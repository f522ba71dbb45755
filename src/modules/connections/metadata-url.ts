import { fetchMetadata } from '../setup-links/metadata-fetch.js';
import { MetadataProblem, readIdpMetadata, unusableMetadata, type MetadataExpectations, type ParsedIdpMetadata } from './saml-idp.js';
import type { MetadataRefreshRow } from './metadata-queries.js';

/** How metadata URLs are fetched and refreshed (from the configuration). */
export interface MetadataUrlSettings {
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: loopback and private addresses are refused unless this is set. */
  allowPrivateTargets: boolean;
  /** SAML_METADATA_REFRESH_SECONDS. */
  refreshSeconds: number;
}

/**
 * GETs IdP metadata through the same guard as webhooks and setup links (public addresses only unless
 * allowed, no redirects, 500 KB, 5 s) and reads it. Problems are `400` answers naming the URL.
 */
export async function fetchIdpMetadata(url: string, settings: Pick<MetadataUrlSettings, 'allowPrivateTargets'>, expect: MetadataExpectations): Promise<ParsedIdpMetadata> {
  const xml = await fetchMetadata(url, settings.allowPrivateTargets);
  try {
    return readIdpMetadata(xml, expect);
  } catch (err) {
    if (err instanceof MetadataProblem) throw unusableMetadata(url, err.message);
    throw err;
  }
}

/** The API's view of the refresh state. */
export interface MetadataRefreshStatus {
  url: string;
  last_success_at: string | null;
  last_attempt_at: string | null;
  next_refresh_at: string | null;
  /** The last refresh's failure; the connection keeps using the last good metadata meanwhile. */
  last_error: string | null;
  failures: number;
  valid_until: string | null;
}

export const toRefreshStatus = (url: string, row: MetadataRefreshRow | undefined): MetadataRefreshStatus => ({
  url,
  last_success_at: row?.last_success_at ?? null,
  last_attempt_at: row?.last_attempt_at ?? null,
  next_refresh_at: row?.next_refresh_at ?? null,
  last_error: row?.last_error ?? null,
  failures: row?.failures ?? 0,
  valid_until: row?.valid_until ?? null,
});

/** The interval with ±10% jitter, so connections saved together do not refresh in lockstep. */
export const jittered = (ms: number, random: () => number = Math.random): number => Math.round(ms * (0.9 + 0.2 * random()));
