import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { AppError } from '../../platform/errors.js';
import { assertPublicTarget, guardedLookup, hostOf, isPublicAddress, parseWebhookUrl } from '../webhooks/target-guard.js';

export const MAX_METADATA_BYTES = 500_000;
const TIMEOUT_MS = 5000;

const refused = (why: string) => new AppError('metadata_url_not_allowed', 400, `Metadata URL refused: ${why}`);
const failed = (why: string) => new AppError('metadata_fetch_failed', 400, `Could not fetch the metadata: ${why}`);

/**
 * Refuses plain http, and hosts that resolve to loopback, private or otherwise non-public addresses
 * (SSRF), as for webhooks; both are allowed only where private targets are (WEBHOOK_ALLOW_PRIVATE_TARGETS).
 */
export async function assertFetchable(raw: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = parseWebhookUrl(raw);
  } catch (err) {
    throw refused((err as Error).message.replace(/^Invalid request body: url: /, ''));
  }
  if (allowPrivate) return url;
  // The metadata names the certificates orgsync trusts: over plain http anyone on the way could
  // swap in their own and sign in as anyone. (Test and lab deployments that allow private targets
  // may use http.)
  if (url.protocol !== 'https:') throw refused('it must be https: the metadata sets the certificates sign-ins are checked against.');
  try {
    await assertPublicTarget(url);
  } catch {
    throw refused(`${hostOf(url)} is not a public address.`);
  }
  return url;
}

/**
 * GETs IdP metadata server-side: public targets only (checked again at connect time, so DNS
 * rebinding gains nothing), no redirects, at most 500 KB, five seconds, and no DOCTYPE.
 */
export async function fetchMetadata(raw: string, allowPrivate: boolean): Promise<string> {
  const url = await assertFetchable(raw, allowPrivate);
  const host = hostOf(url);
  if (!allowPrivate && isIP(host) && !isPublicAddress(host)) throw refused(`${host} is not a public address.`);
  const body = await new Promise<string>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { lookup: allowPrivate ? undefined : guardedLookup, agent: false, headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml', 'user-agent': 'orgsync-setup/1' } });
    const timer = setTimeout(() => req.destroy(new Error('timed out')), TIMEOUT_MS);
    req.on('error', (err: Error & { code?: string }) => {
      clearTimeout(timer);
      reject(err.code === 'ERR_WEBHOOK_TARGET' ? refused(`${host} is not a public address.`) : failed(err.message));
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        clearTimeout(timer);
        res.destroy();
        return reject(failed(status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed; paste the final URL).` : `HTTP ${status}.`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_METADATA_BYTES) {
          clearTimeout(timer);
          res.destroy();
          return reject(new AppError('metadata_too_large', 413, `The metadata is larger than ${MAX_METADATA_BYTES / 1000} KB.`));
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(failed(err.message));
      });
    });
  });
  assertPlainXml(body);
  return body;
}

/** Size and DOCTYPE limits for pasted or fetched metadata. */
export function assertPlainXml(xml: string): void {
  if (Buffer.byteLength(xml) > MAX_METADATA_BYTES) throw new AppError('metadata_too_large', 413, `The metadata is larger than ${MAX_METADATA_BYTES / 1000} KB.`);
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new AppError('invalid_metadata', 400, 'The metadata contains a DOCTYPE or entity declaration; IdP metadata never needs one.');
}
